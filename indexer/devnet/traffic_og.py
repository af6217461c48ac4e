"""OpenGradient-chain inference traffic: relay settlements and legacy-path inference events."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Sequence
from typing import Any

from eth_utils.crypto import keccak

from indexer.config import OPENGRADIENT
from indexer.devnet.actors import (
    HUB,
    LEGACY_RELAY,
    PRECOMPILE,
    RELAY,
    RELAYER,
    STRANGER,
    UPTO,
    random_address,
)
from indexer.devnet.catalog import (
    ACTIVE_WORKFLOWS,
    LEGACY_LLMS,
    LEGACY_ONNX,
    METADATA_LLMS,
    WORKFLOW_MODELS,
)
from indexer.devnet.demand import DAY, Request, ceil_minute
from indexer.devnet.payloads import Payloads
from indexer.devnet.plan import Emit, PlannedTx, call, event
from indexer.devnet.records import Inference, Settlement, iso
from indexer.devnet.traffic_tee import TeeSpec

RELAY_ABI = "InferenceSettlementRelay.json"
LEGACY_ABI = "SettlementRelay_legacy_v1.json"
F4_ABI = "InferencePrecompile_0xF4.json"
HUB_ABI = "InferenceHub.json"
WF_ABI = "PriceHistoryInference_workflow.json"
BATCH_MAX = 20
LLM_MODES = {0: "VANILLA", 1: "TEE"}
ONNX_MODES = {0: "VANILLA", 1: "ZKML", 2: "TEE"}


def _blob_id(rng: random.Random) -> str:
    """A Walrus blob id: 32 bytes, unpadded base64url (43 characters)."""
    return base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=").decode()


def _settlement(ts: int, kind: str, relay: str, sender: str, inferences: int, **kw: Any
                ) -> Settlement:
    fields: dict[str, Any] = {"batch_size": None, "merkle_root": None, "tee_id": None,
                              "eth_address": None, "walrus_blob_id": None, "model": None}
    fields.update(kw)
    return Settlement(time=iso(ts), block=0, relay=relay, kind=kind, inferences=inferences,
                      verified_on_chain=kind == "individual", tx_from=sender,
                      trusted=sender == RELAYER, **fields)


def _batch_tx(rng: random.Random, ts: int, tees: Sequence[bytes | None], payloads: Payloads,
              sender: str = RELAYER) -> PlannedTx:
    """A BatchSettlement of len(tees) items (the TEE serving each; None: unknown) whose root commits
    to the Walrus payload built for it."""
    size = len(tees)
    rng.randbytes(32 * size)  # keeps the seeded stream of the traffic that follows unchanged
    blob = _blob_id(rng)
    root, walrus = payloads.batch(blob, ts, tees, sender == RELAYER, size)
    return PlannedTx(
        ts, sender, RELAY, call(RELAY_ABI, "batchSettle", root, size, blob.encode()),
        (event(OPENGRADIENT, RELAY, RELAY_ABI, "BatchSettlement", root, size, blob.encode()),),
        [_settlement(ts, "batch", RELAY, sender, size, batch_size=size,
                     merkle_root="0x" + root.hex(), walrus_blob_id=blob), walrus])


def _individual_tx(rng: random.Random, ts: int, req: Request, tee: TeeSpec, payloads: Payloads) -> PlannedTx:
    inp, out, blob, sig = keccak(rng.randbytes(32)), keccak(rng.randbytes(32)), _blob_id(rng), \
        rng.randbytes(65)
    args = (tee.tee_id, UPTO, inp, out, req.ts, blob.encode(), sig)  # event order
    walrus = payloads.individual(blob, ts, req, tee.tee_id, UPTO, inp, out, sig)
    return PlannedTx(
        ts, RELAYER, RELAY,
        call(RELAY_ABI, "settleIndividual", tee.tee_id, inp, out, req.ts, UPTO, blob.encode(), sig),
        (event(OPENGRADIENT, RELAY, RELAY_ABI, "IndividualSettlement", *args),),
        [_settlement(ts, "individual", RELAY, RELAYER, 1, tee_id="0x" + tee.tee_id.hex(),
                     eth_address=UPTO, walrus_blob_id=blob), walrus])


def settlement_traffic(rng: random.Random, start: int, days: int, requests: Sequence[Request],
                       tees: Sequence[TeeSpec], payloads: Payloads) -> list[PlannedTx]:
    """Relay v4 settlements for non-private requests: individual at once, batches of up to 20
    flushed when full or 5-15 minutes after their first item; plus two untrusted batches."""
    last = start + days * DAY - 60
    llm_tees = [t for t in tees if t.tee_type == 0]
    txs: list[PlannedTx] = []
    batch: list[tuple[Request, bytes]] = []
    deadline = 0
    for req in sorted(requests, key=lambda r: r.ts):
        if req.mode == "private":
            continue
        serving = [t for t in llm_tees if t.serving(req.ts)]
        if not serving:
            raise AssertionError(f"no TEE serves a request at {req.ts}")
        tee = rng.choice(serving)
        if req.mode == "individual":
            ts = min(ceil_minute(req.ts + 1) + rng.randrange(2) * 60, last)
            txs.append(_individual_tx(rng, ts, req, tee, payloads))
            continue
        if batch and req.ts > deadline:
            txs.append(_batch_tx(rng, min(ceil_minute(deadline), last), [t for _, t in batch], payloads))
            batch = []
        if not batch:
            deadline = req.ts + rng.randint(5, 15) * 60
        batch.append((req, tee.tee_id))
        if len(batch) == BATCH_MAX:
            txs.append(_batch_tx(rng, min(ceil_minute(req.ts + 1), last), [t for _, t in batch], payloads))
            batch = []
    if batch:
        txs.append(_batch_tx(rng, min(ceil_minute(deadline), last), [t for _, t in batch], payloads))
    for size in (3, 7):  # anyone can call batchSettle on some deployments
        ts = start + rng.randrange(60, days * 1440 - 1) * 60
        txs.append(_batch_tx(rng, ts, [None] * size, payloads, STRANGER))
    return txs


def legacy_relay_traffic(rng: random.Random, start: int, days: int) -> list[PlannedTx]:
    """A few events of the pre-v3 relay: Settlement, 2-argument BatchSettlement, with metadata."""
    def at() -> int:
        return start + rng.randrange(60, days * 1440 - 1) * 60

    txs: list[PlannedTx] = []
    for _ in range(3):
        ts, inp, out = at(), keccak(rng.randbytes(32)), keccak(rng.randbytes(32))
        txs.append(PlannedTx(
            ts, RELAYER, LEGACY_RELAY, call(LEGACY_ABI, "settle", inp, out),
            (event(OPENGRADIENT, LEGACY_RELAY, LEGACY_ABI, "Settlement", inp, out),),
            [_settlement(ts, "legacy_single", LEGACY_RELAY, RELAYER, 1)]))
    for _ in range(2):
        ts, root, size = at(), keccak(rng.randbytes(32)), rng.randint(10, 40)
        txs.append(PlannedTx(
            ts, RELAYER, LEGACY_RELAY, call(LEGACY_ABI, "batchSettle", root, size),
            (event(OPENGRADIENT, LEGACY_RELAY, LEGACY_ABI, "BatchSettlement", root, size),),
            [_settlement(ts, "legacy_batch", LEGACY_RELAY, RELAYER, size, batch_size=size,
                         merkle_root="0x" + root.hex())]))
    for model in (*METADATA_LLMS, METADATA_LLMS[0]):
        ts, inp, out = at(), keccak(rng.randbytes(32)), keccak(rng.randbytes(32))
        body_in = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]})
        body_out = json.dumps({"content": "Hello! How can I help?"})
        args = (inp, out, model, body_in.encode(), body_out.encode())
        txs.append(PlannedTx(
            ts, RELAYER, LEGACY_RELAY, call(LEGACY_ABI, "settleWithMetadata", *args),
            (event(OPENGRADIENT, LEGACY_RELAY, LEGACY_ABI, "SettlementWithMetadata", *args),),
            [_settlement(ts, "legacy_metadata", LEGACY_RELAY, RELAYER, 1, model=model)]))
    return txs


def _numbers(rng: random.Random, name: str, n: int) -> tuple[Any, ...]:
    values = [(rng.randint(-10**6, 10**6), rng.randint(0, 6)) for _ in range(n)]
    return (name, values, [1, n])


def _model_output(rng: random.Random) -> tuple[Any, ...]:
    return ([_numbers(rng, "output", rng.randint(1, 3))], [("label", ["up"])],
            [("meta", '{"confidence": 0.82}')], False)


def _inference(ts: int, contract: str, source: str, name: str, inference_id: str | None,
               model: str, mode: int, payer: str, caller: str | None = None) -> Inference:
    modes = ONNX_MODES if model.startswith("Qm") else LLM_MODES
    return Inference(iso(ts), 0, contract, source, name, inference_id, model, mode, modes[mode],
                     payer, caller)


def _legacy_tx(rng: random.Random, ts: int, payer: str, style: str,
               workflow: str | None = None) -> PlannedTx:
    """One legacy inference: the 0xF4 event, plus the hub/workflow event in the same tx."""
    iid = rng.randbytes(16).hex()
    emits: list[Emit] = []
    request: tuple[Any, ...]
    response: tuple[Any, ...]
    fn_args: tuple[Any, ...]
    hub_args: tuple[Any, ...]
    if style in ("hub_chat", "f4_chat"):
        model, mode = rng.choice(LEGACY_LLMS), rng.randrange(2)
        messages: list[tuple[Any, ...]] = [
            ("system", "You are a market analyst.", "", "", []),
            ("user", "Summarise the ETH market today.", "alice", "", []),
        ]
        tools: list[tuple[Any, ...]] = []
        tool_calls: list[tuple[Any, ...]] = []
        if rng.random() < 0.3:  # a tool-using chat: exercises the nested tuple[] fields
            tools = [("Latest price of a pair", "get_price", '{"pair": "string"}')]
            tool_calls = [("call_" + rng.randbytes(4).hex(), "get_price", '{"pair": "ETH/USDT"}')]
        request = (mode, model, messages, tools, "auto" if tools else "", 256, ["\n\n"], 70)
        response = ("tool_calls" if tool_calls else "stop",
                    ("assistant", "" if tool_calls else "ETH traded sideways.", "", "", tool_calls))
        emits.append(event(OPENGRADIENT, PRECOMPILE, F4_ABI, "LLMChat", iid, request, response))
        name, fn, fn_args = "LLMChat", "runLLMChat", (request,)
        hub_event, hub_args = "LLMChatResult", (response,)
    elif style in ("hub_completion", "f4_completion"):
        model, mode = rng.choice(LEGACY_LLMS), rng.randrange(2)
        request = (mode, model, "The capital of France is", 16, ["\n"], 0)
        response = (" Paris.",)
        emits.append(event(OPENGRADIENT, PRECOMPILE, F4_ABI, "LLMCompletionEvent", iid, request,
                           response))
        name, fn, fn_args = "LLMCompletionEvent", "runLLMCompletion", (request,)
        hub_event, hub_args = "LLMCompletionResult", (response,)
    else:  # ONNX: hub_onnx, f4_onnx, workflow
        model = WORKFLOW_MODELS[workflow] if workflow else rng.choice(LEGACY_ONNX)
        mode = rng.randrange(3)
        model_input = ([_numbers(rng, "input", rng.randint(2, 6))], [("pair", ["ETH/USDT"])])
        output = _model_output(rng)
        emits.append(event(OPENGRADIENT, PRECOMPILE, F4_ABI, "ModelInferenceEvent", iid,
                           (mode, model, model_input), output))
        name, fn, fn_args = "ModelInferenceEvent", "runModelInference", ((mode, model, model_input),)
        hub_event, hub_args = "InferenceResult", (output,)
    facts = [_inference(ts, PRECOMPILE, "precompile", name, iid, model, mode, payer)]
    if workflow is not None:
        emits.append(event(OPENGRADIENT, workflow, WF_ABI, "InferenceResultEmitted", payer,
                           hub_args[0]))
        facts.append(_inference(ts, workflow, "workflow", "InferenceResultEmitted", None, model,
                                mode, payer, caller=payer))
        return PlannedTx(ts, payer, workflow, call(WF_ABI, "run"), tuple(emits), list(facts))
    if style.startswith("f4_"):
        return PlannedTx(ts, payer, PRECOMPILE, call(F4_ABI, fn, *fn_args), tuple(emits),
                         list(facts))
    hub_args_call = (model, mode, fn_args[0][2]) if style == "hub_onnx" else fn_args
    hub_call = call(HUB_ABI, "run" if style == "hub_onnx" else fn, *hub_args_call)
    emits.append(event(OPENGRADIENT, HUB, HUB_ABI, hub_event, *hub_args))
    facts.append(_inference(ts, HUB, "hub", hub_event, None, model, mode, payer))
    return PlannedTx(ts, payer, HUB, hub_call, tuple(emits), list(facts))


def legacy_inference_traffic(rng: random.Random, start: int, days: int) -> list[PlannedTx]:
    """Alpha-path inferences from a handful of users (heavy-tailed), and scheduled workflows."""
    users = [random_address(rng) for _ in range(5)]
    weights = (45, 25, 15, 10, 5)
    styles = ("hub_chat", "hub_completion", "hub_onnx", "f4_chat", "f4_completion", "f4_onnx")
    style_weights = (35, 15, 20, 10, 5, 5)
    txs: list[PlannedTx] = []
    for d in range(days):
        day0 = start + d * DAY
        for _ in range(rng.randint(12, 24)):
            ts = day0 + rng.randrange(1, 1440) * 60
            payer = rng.choices(users, weights=weights)[0]
            txs.append(_legacy_tx(rng, ts, payer, rng.choices(styles, weights=style_weights)[0]))
        for w, workflow in enumerate(ACTIVE_WORKFLOWS):  # every 6 hours, run by its owner
            for k in range(4):
                ts = day0 + (k * 360 + 17 + 7 * w) * 60
                txs.append(_legacy_tx(rng, ts, users[w], "workflow", workflow))
    return txs
