"""Turn one block range's logs, headers and transactions into typed table rows (pure, no I/O)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Context, Decimal
from functools import cache
from typing import Any

import orjson

from .abi import EventSpec, event_map, function_map
from .batch import UndecodedCall
from .chain import Block, Log, Tx
from .config import ChainConfig, Contract
from .decode import Decoded, DecodedCall, DecodeError, UnknownTopic, decode_call, decode_log, to_json
from .roles import CONTEXT_ONLY, Role
from .tables import (
    ApprovalRow,
    BlockRow,
    InferenceRow,
    PaymentRow,
    RawLogRow,
    Row,
    SettlementRow,
    TeeEventRow,
    TokenTransferRow,
    TransactionRow,
    X402EventRow,
)


@dataclass
class Rows:
    """Everything one block range writes, grouped by table, plus the TEEs whose state changed."""

    by_table: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    tees_touched: set[tuple[str, str]] = field(default_factory=set)  # (registry, tee_id)
    undecoded: int = 0
    # Calldata a row wanted to read but that did not decode; the row keeps those columns NULL.
    undecoded_calls: list[UndecodedCall] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.by_table[row.TABLE].append(row)

    def count(self) -> int:
        return sum(len(v) for v in self.by_table.values())


ZERO_ADDRESS = "0x" + "0" * 40
SETTLED_EVENTS = frozenset({"Settled", "SettledWithPermit", "SettledWith2612"})
LLM_MODES = {0: "VANILLA", 1: "TEE"}
ONNX_MODES = {0: "VANILLA", 1: "ZKML", 2: "TEE"}
_PRECOMPILE_EVENTS = {
    "LLMChat": ("llm_chat", LLM_MODES),
    "LLMCompletionEvent": ("llm_completion", LLM_MODES),
    "ModelInferenceEvent": ("model_inference", ONNX_MODES),
}


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _blob_id(value: Any) -> str | None:
    """Walrus blob ids are UTF-8 bytes; anything else (not UTF-8, or holding a NUL, which Postgres text
    cannot) is kept as 0x-hex rather than dropped."""
    if not isinstance(value, bytes) or not value:
        return None
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return text if text is not None and "\x00" not in text else "0x" + value.hex()


# Exact for any uint256 (78 digits): the default context keeps 28 significant digits, which rounded
# an unlimited approval's value_opg (2**256 - 1) to 1.157920892373161954235709850E+59.
_EXACT = Context(prec=100)


def _scaled(raw: int, decimals: int) -> Decimal:
    return Decimal(raw).scaleb(-decimals, _EXACT)


def _json(value: Any) -> str:
    return orjson.dumps(to_json(value), option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class _Context:
    chain: ChainConfig
    blocks: Mapping[int, Block]
    txs: Mapping[str, Tx]
    logs_by_tx: Mapping[str, Sequence[tuple[Log, Contract, Decoded | None]]]
    times: Mapping[int, datetime]  # block number -> block time (UTC)

    def tx(self, h: str) -> Tx | None:
        return self.txs.get(h)


Handler = Callable[[_Context, Rows, Log, Contract, Decoded], None]
# Given a chain, a test on a log's address and topics alone (before decoding).
LogFilter = Callable[[ChainConfig], Callable[[Log], bool]]
EVERY_EVENT = "*"  # a reads_tx key: every event the role's ABIs know


def always(chain: ChainConfig) -> Callable[[Log], bool]:
    return lambda log: True


def to_pay_to(chain: ChainConfig) -> Callable[[Log], bool]:
    """A Transfer to one of the chain's pay_to addresses (topic 2 is the indexed `to`)."""
    pay_to = frozenset("0x" + "0" * 24 + a[2:] for a in chain.pay_to)
    return lambda log: len(log.topics) > 2 and log.topics[2] in pay_to


@dataclass(frozen=True)
class Registration:
    """A role's handler and what its rows read beyond the log itself.

    reads_tx: event name (or EVERY_EVENT) -> which of those logs read their transaction (sender or
    calldata); only those transactions are fetched, as Shovel and Ponder fetch transaction data
    only for what uses it. reads_calldata_of: roles whose calls this handler decodes from the
    transaction input; a transaction with a log of such a role keeps its input in og.transactions.
    reads_logs_of: roles whose logs in the same transaction the rows of those logs read
    (ctx.logs_by_tx); where such a role's contract takes its logs only in the transactions that read
    them (config `logs = "transactions"`), those logs are fetched for that transaction
    (tx_logs_reader)."""

    handler: Handler
    reads_tx: Mapping[str, LogFilter]
    reads_calldata_of: frozenset[Role]
    reads_logs_of: frozenset[Role] = frozenset()


HANDLERS: dict[Role, Registration] = {}


def handles(
    *roles: Role,
    reads_tx: Mapping[str, LogFilter] | None = None,
    reads_calldata_of: Iterable[Role] = (),
    reads_logs_of: Iterable[Role] = (),
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of roles, with what its rows read."""

    def register(fn: Handler) -> Handler:
        for role in roles:
            if role in HANDLERS or role in CONTEXT_ONLY:
                raise TypeError(f"role {role} already has a handler or is context only")
        registration = Registration(
            fn, dict(reads_tx or {}), frozenset(reads_calldata_of), frozenset(reads_logs_of)
        )
        HANDLERS.update(dict.fromkeys(roles, registration))
        return fn

    return register


def build_rows(
    chain: ChainConfig,
    logs: Iterable[Log],
    blocks: Mapping[int, Block],
    txs: Mapping[str, Tx],
    checkpoint_blocks: Iterable[Block] = (),
) -> Rows:
    """Decode every log of a block range and map it to rows. Never drops a log: a log that does not
    decode is written to raw_logs with its status and error."""
    out = Rows()
    decoded: list[tuple[Log, Contract, Decoded | None]] = []
    watched: dict[str, tuple[Contract, Mapping[str, EventSpec]]] = {}
    for c in chain.contracts:
        for a in c.addresses:
            watched.setdefault(a, (c, event_map(c.abi_files)))  # the first contract naming it wins
    times = {n: _utc(b.timestamp) for n, b in blocks.items()}
    raw_rows: list[Row] = []
    for log in logs:
        found = watched.get(log.address)
        if found is None:
            continue  # not ours: a provider that ignored the address filter
        contract, events = found
        try:
            d: Decoded | None = decode_log(log, events)
            status, event, error = "decoded", d.event.name if d else None, None
        except UnknownTopic as e:
            d, status, event, error = None, "unknown_topic", None, str(e)
        except DecodeError as e:
            d, status, event, error = None, "decode_error", None, str(e)
        decoded.append((log, contract, d))
        raw_rows.append(_raw_row(chain.chain_id, log, times, status, event, error))
    if raw_rows:
        out.by_table[RawLogRow.TABLE] = raw_rows
    by_tx: dict[str, list[tuple[Log, Contract, Decoded | None]]] = defaultdict(list)
    for item in decoded:
        by_tx[item[0].tx_hash].append(item)
    ctx = _Context(chain, blocks, txs, by_tx, times)
    for log, contract, d in decoded:
        if d is None:
            out.undecoded += 1
            continue
        _map(ctx, out, log, contract, d)
    seen_tx: set[str] = set()
    for log, _, _ in decoded:
        if log.tx_hash in seen_tx:
            continue
        seen_tx.add(log.tx_hash)
        tx = txs.get(log.tx_hash)
        if tx is not None:
            keep_input = any(c.role in _CALLDATA_ROLES for _, c, _ in by_tx[log.tx_hash])
            out.add(
                TransactionRow(
                    chain.chain_id,
                    tx.block_number,
                    tx.block_hash,
                    times[tx.block_number],
                    tx.hash,
                    tx.tx_index,
                    tx.sender,
                    tx.to,
                    tx.input if keep_input else None,
                )
            )
    wanted = {log.block_number for log, _, _ in decoded} | {b.number for b in checkpoint_blocks}
    for n in sorted(wanted):
        b = blocks[n]
        out.add(BlockRow(chain.chain_id, b.number, b.hash, b.parent_hash, times[n]))
    return out


def _raw_row(
    chain_id: int, log: Log, times: Mapping[int, datetime], status: str, event: str | None, error: str | None
) -> RawLogRow:
    t = log.topics + (None,) * (4 - len(log.topics))
    return RawLogRow(
        chain_id,
        log.block_number,
        log.block_hash,
        times[log.block_number],
        log.tx_hash,
        log.tx_index,
        log.log_index,
        log.address,
        t[0],
        t[1],
        t[2],
        t[3],
        log.data,
        status,
        event,
        error,
    )


def _prov(ctx: _Context, log: Log) -> tuple[int, int, str, datetime, str, int]:
    return (
        ctx.chain.chain_id,
        log.block_number,
        log.block_hash,
        ctx.times[log.block_number],
        log.tx_hash,
        log.log_index,
    )


def _map(ctx: _Context, out: Rows, log: Log, contract: Contract, d: Decoded) -> None:
    registration = HANDLERS.get(contract.role)
    if registration is not None:  # None: a context-only role, which config never watches
        registration.handler(ctx, out, log, contract, d)


def _call(out: Rows, tx: Tx, contract: Contract) -> DecodedCall | None:
    """The transaction's call decoded with the contract's ABIs; a failure is recorded, not raised."""
    try:
        return decode_call(tx.input, function_map(contract.abi_files))
    except DecodeError as e:
        out.undecoded_calls.append(UndecodedCall(tx.hash, contract.role, str(e)))
        return None


@handles(Role.TEE_REGISTRY, reads_tx={"TEERegistered": always}, reads_calldata_of={Role.TEE_REGISTRY})
def _tee_registry(ctx: _Context, out: Rows, log: Log, contract: Contract, d: Decoded) -> None:
    """paymentAddress and endpoint come from a registerTEEWithAttestation call's calldata; through
    another entry point they stay unknown (and calldata that does not decode is recorded)."""
    a = dict(d.args)
    if d.event.name == "TEERegistered":
        tx = ctx.tx(log.tx_hash)
        call = _call(out, tx, contract) if tx is not None and tx.input else None
        if call is not None and call.function.name == "registerTEEWithAttestation":
            a["paymentAddress"] = call.args["paymentAddress"]
            a["endpoint"] = call.args["endpoint"]
    tee_id = a.get("teeId")
    out.add(
        TeeEventRow(
            *_prov(ctx, log),
            registry=log.address,
            event=d.event.name,
            tee_id=tee_id,
            owner=a.get("owner"),
            tee_type=a.get("teeType"),
            heartbeat_timestamp=a.get("timestamp") if d.event.name == "HeartbeatReceived" else None,
            pcr_hash=a.get("pcrHash"),
            args=_json(a),
        )
    )
    if tee_id is not None:
        out.tees_touched.add((log.address, tee_id))


def _trusted(ctx: _Context, tx_from: str) -> bool:
    return not ctx.chain.trusted_relayers or tx_from in ctx.chain.trusted_relayers


def _settlement(
    ctx: _Context, out: Rows, log: Log, kind: str, inferences: int, verified: bool, **cols: Any
) -> None:
    tx = ctx.tx(log.tx_hash)
    sender = tx.sender if tx is not None else ""
    base: dict[str, Any] = {
        "batch_size": None,
        "merkle_root": None,
        "tee_id": None,
        "eth_address": None,
        "input_hash": None,
        "output_hash": None,
        "tee_timestamp": None,
        "walrus_blob_id": None,
        "signature": None,
        "model": None,
        "input_data": None,
        "output_data": None,
    }
    base.update(cols)
    out.add(
        SettlementRow(
            *_prov(ctx, log),
            relay=log.address,
            kind=kind,
            inferences=inferences,
            verified_on_chain=verified,
            tx_from=sender,
            trusted=_trusted(ctx, sender),
            **base,
        )
    )


# Settlements read their transaction's sender: tx_from, and the trusted-relayer check.
@handles(Role.SETTLEMENT_RELAY, reads_tx={EVERY_EVENT: always})
def _settlement_relay(ctx: _Context, out: Rows, log: Log, contract: Contract, d: Decoded) -> None:
    a = d.args
    if d.event.name == "BatchSettlement":
        _settlement(
            ctx,
            out,
            log,
            "batch",
            a["batchSize"],
            False,
            batch_size=a["batchSize"],
            merkle_root=a["merkleRoot"],
            walrus_blob_id=_blob_id(a["walrusBlobId"]),
        )
    elif d.event.name == "IndividualSettlement":
        _settlement(
            ctx,
            out,
            log,
            "individual",
            1,
            True,
            tee_id=a["teeId"],
            eth_address=a["ethAddress"],
            input_hash=a["inputHash"],
            output_hash=a["outputHash"],
            tee_timestamp=a["timestamp"],
            walrus_blob_id=_blob_id(a["walrusBlobId"]),
            signature="0x" + bytes(a["signature"]).hex(),
        )


@handles(Role.LEGACY_RELAY, reads_tx={EVERY_EVENT: always})
def _legacy_relay(ctx: _Context, out: Rows, log: Log, contract: Contract, d: Decoded) -> None:
    a = d.args
    name = d.event.name
    if name == "Settlement":
        _settlement(
            ctx, out, log, "legacy_single", 1, False, input_hash=a["inputHash"], output_hash=a["outputHash"]
        )
    elif name == "BatchSettlement":
        _settlement(
            ctx,
            out,
            log,
            "legacy_batch",
            a["batchSize"],
            False,
            batch_size=a["batchSize"],
            merkle_root=a["merkleRoot"],
        )
    elif name == "SettlementWithMetadata":
        _settlement(
            ctx,
            out,
            log,
            "legacy_metadata",
            1,
            False,
            input_hash=a["inputHash"],
            output_hash=a["outputHash"],
            model=a["modelInfo"] or None,
            input_data=a["inputData"],
            output_data=a["outputData"],
        )


def _payer(ctx: _Context, log: Log) -> str:
    tx = ctx.tx(log.tx_hash)
    return tx.sender if tx is not None else ""


# An inference's payer is its transaction's sender; its caller, a workflow's log in the same transaction.
@handles(Role.INFERENCE_PRECOMPILE, reads_tx={EVERY_EVENT: always}, reads_logs_of={Role.WORKFLOW})
def _precompile(ctx: _Context, out: Rows, log: Log, contract: Contract, d: Decoded) -> None:
    spec = _PRECOMPILE_EVENTS.get(d.event.name)
    if spec is None:
        return
    source, modes = spec
    req = d.args.get("request") or {}
    mode = req.get("mode")
    callers = [
        pd.args.get("caller")
        for _, c, pd in ctx.logs_by_tx.get(log.tx_hash, ())
        if c.role == Role.WORKFLOW and pd is not None and pd.event.name == "InferenceResultEmitted"
    ]
    out.add(
        InferenceRow(
            *_prov(ctx, log),
            contract=log.address,
            source=source,
            event=d.event.name,
            inference_id=d.args.get("inferenceID"),
            model=req.get("modelCID") or None,
            mode=mode,
            mode_name=modes.get(mode) if isinstance(mode, int) else None,
            payer=_payer(ctx, log),
            caller=callers[0] if callers else None,
            request=_json(req),
            response=_json(d.args.get("response")),
        )
    )


@handles(
    Role.INFERENCE_HUB, Role.WORKFLOW, reads_tx={EVERY_EVENT: always}, reads_logs_of={Role.INFERENCE_PRECOMPILE}
)
def _echo(ctx: _Context, out: Rows, log: Log, contract: Contract, d: Decoded) -> None:
    """InferenceHub and workflow contracts echo the precompile's result in the same transaction: that
    inference is counted once, from the precompile event. A result with no precompile partner is kept
    with its model unknown (a workflow names its model only through its modelId() view)."""
    if contract.role == Role.WORKFLOW and d.event.name != "InferenceResultEmitted":
        return
    partners = ctx.logs_by_tx.get(log.tx_hash, ())
    if any(c.role == Role.INFERENCE_PRECOMPILE and pd is not None for _, c, pd in partners):
        return
    payload = d.args.get("result") if contract.role == Role.WORKFLOW else next(iter(d.args.values()), None)
    out.add(
        InferenceRow(
            *_prov(ctx, log),
            contract=log.address,
            source="workflow" if contract.role == Role.WORKFLOW else "inference_hub",
            event=d.event.name,
            inference_id=None,
            model=None,
            mode=None,
            mode_name=None,
            payer=_payer(ctx, log),
            caller=d.args.get("caller"),
            request=None,
            response=_json(payload),
        )
    )


_X402_ROLES = frozenset({Role.X402_UPTO, Role.X402_EXACT})


def _settle_context(
    ctx: _Context, out: Rows, log: Log
) -> tuple[Contract | None, str | None, Mapping[str, Any]]:
    """The x402 proxy that settled in this transaction (contract and address, if any) and its
    decoded settle call (empty when the transaction did not call the proxy directly, or when its
    calldata does not decode: recorded in out.undecoded_calls)."""
    for other, c, pd in ctx.logs_by_tx.get(log.tx_hash, ()):
        if c.role in _X402_ROLES and pd is not None and pd.event.name in SETTLED_EVENTS:
            tx = ctx.tx(log.tx_hash)
            if tx is None or tx.to != other.address:
                return c, other.address, {}
            call = _call(out, tx, c)
            return c, other.address, call.args if call is not None else {}
    return None, None, {}


# A payment (a Transfer to a pay_to address) reads its sender, the x402 proxy's settle calldata, and
# the proxy's Settled* log in the same transaction (fetched for this transaction: the proxies are shared).
@handles(Role.TOKEN, reads_tx={"Transfer": to_pay_to}, reads_calldata_of=_X402_ROLES, reads_logs_of=_X402_ROLES)
def _token(ctx: _Context, out: Rows, log: Log, contract: Contract, d: Decoded) -> None:
    a = d.args
    decimals = ctx.chain.token_decimals
    if d.event.name == "Transfer":
        out.add(
            TokenTransferRow(
                *_prov(ctx, log),
                token=log.address,
                from_address=a["from"],
                to_address=a["to"],
                amount_raw=a["value"],
                amount_opg=_scaled(a["value"], decimals),
                kind="mint" if a["from"] == ZERO_ADDRESS else "burn" if a["to"] == ZERO_ADDRESS else "transfer",
            )
        )
    if d.event.name == "Transfer" and a["to"] in ctx.chain.pay_to:
        proxy, proxy_address, call = _settle_context(ctx, out, log)
        permit = call.get("permit") or {}
        cap = (permit.get("permitted") or {}).get("amount")
        witness = call.get("witness") or {}
        tx = ctx.tx(log.tx_hash)
        is_x402 = proxy is not None
        out.add(
            PaymentRow(
                *_prov(ctx, log),
                token=log.address,
                payer=a["from"],
                payee=a["to"],
                amount_raw=a["value"],
                amount_opg=_scaled(a["value"], decimals),
                is_x402=is_x402,
                scheme=("upto" if proxy.role == Role.X402_UPTO else "exact") if proxy else None,
                proxy=proxy_address,
                facilitator=witness.get("facilitator"),  # upto witness only; exact names none
                tx_from=tx.sender if tx else None,
                settle_owner=call.get("owner"),
                settle_amount_raw=call.get("amount"),  # upto's settled amount argument
                session_cap_raw=cap,  # permit.permitted.amount: the most the permit allows
            )
        )
    elif d.event.name == "Approval":
        permit2 = ctx.chain.addresses_with_role(Role.PERMIT2)
        out.add(
            ApprovalRow(
                *_prov(ctx, log),
                token=log.address,
                owner=a["owner"],
                spender=a["spender"],
                value_raw=a["value"],
                value_opg=_scaled(a["value"], decimals),
                to_permit2=a["spender"] in permit2,
            )
        )


@handles(Role.X402_UPTO, Role.X402_EXACT)  # proxy events read nothing beyond the log
def _x402(ctx: _Context, out: Rows, log: Log, contract: Contract, d: Decoded) -> None:
    a = d.args
    reason = a.get("reason")
    if reason is None and "errorCode" in a:
        reason = f"panic {a['errorCode']}"
    if reason is None and "data" in a:
        reason = "0x" + bytes(a["data"]).hex()
    out.add(
        X402EventRow(
            *_prov(ctx, log),
            proxy=log.address,
            scheme="upto" if contract.role == Role.X402_UPTO else "exact",
            event=d.event.name,
            token=a.get("token"),
            owner=a.get("owner"),
            reason=reason,
        )
    )


@cache  # once per chain configuration, not once per fetched range
def tx_reader(chain: ChainConfig) -> Callable[[Log], bool]:
    """A predicate: does this log's row read its transaction? Decides from address and topics alone
    (before decoding), so the fetcher can skip the other transactions. A log whose event the ABIs in
    force do not know is kept raw, and the transaction is fetched anyway: redecode with a later ABI
    must find the context its row may read, without RPC."""
    return _reader(chain, None)


@cache
def tx_logs_reader(chain: ChainConfig) -> Callable[[Log], bool]:
    """A predicate: does this log's row read logs of its transaction that no eth_getLogs by address
    brings, those of a contract read only in such transactions (config `logs = "transactions"`)? The
    same test as tx_reader, at the addresses whose handler reads logs of such a role
    (`reads_logs_of`); False everywhere else and for a topic the ABIs do not know. So those logs are
    fetched only for a transaction that is fetched too: on Base, for the payments."""
    sourced = frozenset(c.role for c in chain.contracts if c.in_read_transactions)
    return _reader(chain, lambda registration: bool(registration.reads_logs_of & sourced))


def _reader(chain: ChainConfig, applies: Callable[[Registration], bool] | None) -> Callable[[Log], bool]:
    """tx_reader's predicate; with `applies`, False at every address whose handler it rejects."""
    known: dict[str, frozenset[str]] = {}  # address -> topic0s its ABIs know
    # address -> known topic0 whose rows may read the transaction -> which of its logs do
    reading: dict[str, dict[str, Callable[[Log], bool]]] = {}
    outside: set[str] = set()  # addresses `applies` rejects
    for c in chain.contracts:
        events = event_map(c.abi_files)
        registration = HANDLERS.get(c.role)
        if applies is not None and (registration is None or not applies(registration)):
            outside.update(a for a in c.addresses if a not in known)
        reads_tx = registration.reads_tx if registration is not None else {}
        tests = {name: f(chain) for name, f in reads_tx.items()}
        every = tests.get(EVERY_EVENT)
        wanted = {t: test for t, ev in events.items() if (test := tests.get(ev.name, every)) is not None}
        for a in c.addresses:
            known.setdefault(a, frozenset(events))
            reading.setdefault(a, wanted)
    if applies is not None and not set(known) - outside:
        return lambda log: False

    def reads(log: Log) -> bool:
        if log.address in outside:
            return False
        topic0 = log.topics[0] if log.topics else None
        if log.address not in known or topic0 not in known[log.address]:
            return applies is None  # undecodable here: keep its context for a later redecode
        test = reading[log.address].get(topic0) if topic0 is not None else None
        return test is not None and test(log)

    return reads


# Every role has a handler or is context only (roles.CONTEXT_ONLY), never both; checked on import.
if set(HANDLERS) | CONTEXT_ONLY != set(Role):
    raise TypeError(f"roles with no handler: {sorted(set(Role) - set(HANDLERS) - CONTEXT_ONLY)}")
# Roles whose calldata some handler decodes: their transactions keep their input.
_CALLDATA_ROLES = frozenset().union(*(r.reads_calldata_of for r in HANDLERS.values()))
