"""Devnet on real anvil: emitters put logs at the real addresses, the simulator is deterministic and
its ground truth agrees with what eth_getLogs reads back."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak

from indexer.abi import EventSpec, FunctionSpec, load_abi
from indexer.config import BASE, OPENGRADIENT, ChainConfig
from indexer.devnet import actors
from indexer.devnet.anvil import free_port
from indexer.devnet.anvil_client import AnvilClient
from indexer.devnet.catalog import WORKFLOW_MODELS
from indexer.devnet.emitter import LogSpec, with_logs
from indexer.devnet.errors import DevnetError
from indexer.devnet.nodes import down, status, up
from indexer.devnet.plan import call, event
from indexer.devnet.records import iso
from indexer.devnet.truth import GroundTruth

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)
pytestmark = pytest.mark.integration



def _event(abi_file: str, name: str) -> EventSpec:
    (spec,) = (e for e in load_abi(abi_file)[0] if e.name == name)
    return spec


def _function(abi_file: str, name: str) -> FunctionSpec:
    (spec,) = (f for f in load_abi(abi_file)[1] if f.name == name)
    return spec


TRANSFER = _event("OPG_ERC20_Base.json", "Transfer")
SETTLED = {_event("x402UptoPermit2Proxy.json", n).topic0 for n in
           ("Settled", "SettledWithPermit", "SettledWith2612")}
T0 = 1777852800  # 2026-05-04T00:00:00Z, the default start


def _send(rpc: AnvilClient, sender: str, to: str, data: bytes, ts: int) -> dict[str, Any]:
    """Send one tx, mine it at ts, return its receipt."""
    tx_hash = rpc.call("eth_sendTransaction", [{
        "from": sender, "to": to, "data": "0x" + data.hex(), "gas": hex(3_000_000),
        "gasPrice": "0x0", "value": "0x0"}])
    rpc.call("evm_mine", [ts])
    receipt: dict[str, Any] = rpc.call("eth_getTransactionReceipt", [tx_hash])
    assert receipt["status"] == "0x1"
    return receipt


def _logs(rpc: AnvilClient, **flt: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = rpc.call(
        "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", **flt}])
    return result


def _first_event(chain: ChainConfig, address: str) -> EventSpec:
    contract = chain.contract_for(address)
    assert contract is not None
    events = [e for f in contract.abi_files for e in load_abi(f)[0]]
    return events[0]


def test_anvil_client_keeps_batch_order_names_node_errors_and_controls_anvil(
    devnet: DevnetPair,
) -> None:
    with AnvilClient(devnet.og.url) as rpc:
        assert rpc.batch([("eth_chainId", []), ("eth_blockNumber", [])]) == [hex(10740), "0x0"]
        with pytest.raises(DevnetError, match=r"anvil_noSuchMethod on http://.*: Method not found"):
            rpc.call("anvil_noSuchMethod", [])
        with pytest.raises(DevnetError, match=r"^eth_getBlockByNumber on http://.*: hex string"):
            rpc.batch([("eth_blockNumber", []), ("eth_getBlockByNumber", ["zz", False])])
        snapshot = rpc.call("evm_snapshot")
        rpc.call("evm_mine", [T0])
        assert rpc.w3.eth.block_number == 1 and rpc.w3.eth.get_block(1)["timestamp"] == T0
        assert rpc.call("evm_revert", [snapshot]) is True
        assert rpc.w3.eth.block_number == 0
    with pytest.raises(DevnetError, match=r"eth_chainId on .*Connection refused"):
        AnvilClient(f"http://127.0.0.1:{free_port()}").call("eth_chainId")


@pytest.mark.parametrize("chain", [OPENGRADIENT, BASE], ids=lambda c: c.name)
def test_every_contract_address_emits_its_abi_topic_in_order(devnet: DevnetPair,
                                                             chain: ChainConfig) -> None:
    url = devnet.urls[chain.name]
    addresses = [a for c in chain.contracts for a in c.addresses]
    planned = []
    for address in addresses:
        event = _first_event(chain, address)
        extra = tuple(bytes(32) for _ in event.indexed)
        planned.append(LogSpec(address, (bytes.fromhex(event.topic0[2:]), *extra), bytes(64)))
    with AnvilClient(url) as rpc:
        receipt = _send(rpc, "0x" + "ab" * 20, addresses[-1], with_logs(b"", planned), T0)
        got = _logs(rpc)
    assert [(g["address"], g["topics"][0]) for g in receipt["logs"]] == \
        [(p.address, "0x" + p.topics[0].hex()) for p in planned]
    assert [int(g["logIndex"], 16) for g in got] == list(range(len(planned)))
    assert {g["address"] for g in got} == set(addresses)


def test_x402_settle_tx_emits_transfer_then_settled_and_input_is_the_real_settle_call(
    devnet: DevnetPair,
) -> None:
    settle = _function("x402UptoPermit2Proxy.json", "settle")
    payer, facilitator, amount, cap = "0x" + "11" * 20, actors.FACILITATORS[0], 42 * 10**15, 10**17
    args = (((actors.TOKEN, cap), 7, T0 + 3600), amount, payer,
            (actors.PAY_TO, facilitator, T0 - 30), b"\x01" * 65)
    transfer = event(BASE, actors.TOKEN, "OPG_ERC20_Base.json", "Transfer", payer, actors.PAY_TO,
                     amount).log
    settled = event(BASE, actors.UPTO, "x402UptoPermit2Proxy.json", "Settled").log
    settle_call = call("x402UptoPermit2Proxy.json", "settle", *args)
    with AnvilClient(devnet.base.url) as rpc:
        receipt = _send(rpc, facilitator, actors.UPTO, with_logs(settle_call, [transfer, settled]),
                        T0 + 60)
        tx = rpc.call("eth_getTransactionByHash", [receipt["transactionHash"]])
    logs = receipt["logs"]
    assert [log["address"] for log in logs] == [actors.TOKEN, actors.UPTO]
    assert logs[0]["topics"] == [TRANSFER.topic0,
                                 "0x" + bytes(12).hex() + payer[2:],
                                 "0x" + bytes(12).hex() + actors.PAY_TO[2:]]
    assert int(logs[0]["data"], 16) == amount
    assert logs[1]["topics"] == ["0x" + keccak(text="Settled()").hex()] and logs[1]["data"] == "0x"
    assert [int(log["logIndex"], 16) for log in logs] == [0, 1]
    data = bytes.fromhex(tx["input"][2:])
    assert data[:4].hex() == "ff11e7b4" and tx["from"] == facilitator
    decoded = abi_decode([p.type for p in settle.params], data[4:])
    assert decoded == (((actors.TOKEN, cap), 7, T0 + 3600), amount, payer,
                       (actors.PAY_TO, facilitator, T0 - 30), b"\x01" * 65)


def test_workflow_contract_answers_model_id(devnet: DevnetPair) -> None:
    selector = _function("PriceHistoryInference_workflow.json", "modelId").selector
    with AnvilClient(devnet.og.url) as rpc:
        for address, model in WORKFLOW_MODELS.items():
            raw = rpc.call("eth_call", [{"to": address, "data": selector}, "latest"])
            assert abi_decode(["string"], bytes.fromhex(raw[2:])) == (model,)


def test_simulated_blocks_span_the_utc_days_of_the_window(devnet_pair: DevnetPair) -> None:
    truth = devnet_pair.simulate(days=3, seed=11)
    assert (truth.config.start, truth.config.end) == ("2026-05-04T00:00:00Z",
                                                      "2026-05-07T00:00:00Z")
    for name, url in devnet_pair.urls.items():
        summary = truth.chains[name]
        with AnvilClient(url) as rpc:
            blocks = rpc.batch([("eth_getBlockByNumber", [hex(n), False])
                                for n in range(summary.first_block, summary.last_block + 1)])
            assert int(rpc.call("eth_blockNumber"), 16) == summary.last_block
        times = [int(b["timestamp"], 16) for b in blocks]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert {iso(t)[:10] for t in times} == {"2026-05-04", "2026-05-05", "2026-05-06"}
        assert iso(times[0]) == summary.first_block_time
        assert iso(times[-1]) == summary.last_block_time == "2026-05-06T23:59:00Z"
    block_time = {int(b["number"], 16): iso(int(b["timestamp"], 16)) for b in blocks}
    assert all(block_time[p.block] == p.time for p in truth.payments)


def test_same_seed_gives_identical_truth_and_chain_other_seed_differs(
    devnet_pair: DevnetPair,
) -> None:
    def run(seed: int) -> tuple[bytes, list[str]]:
        truth = devnet_pair.simulate(days=2, seed=seed)
        heads = []
        for url in devnet_pair.urls.values():
            with AnvilClient(url) as rpc:
                heads.append(rpc.call("eth_getBlockByNumber", ["latest", False])["hash"])
        return truth.to_json(), heads

    first, second, other = run(7), run(7), run(8)
    assert first[0] == second[0]
    assert first[1] == second[1]  # same blocks, same transactions in the same order
    assert other[0] != first[0]


@pytest.fixture(scope="module")
def simulated(devnet_pair: DevnetPair, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[DevnetPair, GroundTruth]:
    truth = devnet_pair.simulate(days=2, seed=42)
    path = tmp_path_factory.mktemp("truth") / "ground_truth.json"
    truth.write(path)
    return devnet_pair, GroundTruth.read(path)


def test_payments_in_truth_match_transfers_to_pay_to_on_chain(
    simulated: tuple[DevnetPair, GroundTruth],
) -> None:
    pair, truth = simulated
    with AnvilClient(pair.base.url) as rpc:
        to_pay_to = _logs(rpc, address=actors.TOKEN,
                          topics=[TRANSFER.topic0, None,
                                  "0x" + bytes(12).hex() + actors.PAY_TO[2:]])
        receipts = rpc.batch([("eth_getTransactionReceipt", [log["transactionHash"]])
                              for log in to_pay_to])
    on_chain = Counter()
    for log, receipt in zip(to_pay_to, receipts, strict=True):
        is_x402 = any(r["topics"] and r["topics"][0] in SETTLED
                      and r["address"] in (actors.UPTO, actors.EXACT) for r in receipt["logs"])
        on_chain[(int(log["blockNumber"], 16), "0x" + log["topics"][1][26:],
                  str(int(log["data"], 16)), is_x402)] += 1
    assert on_chain == Counter((p.block, p.payer, p.amount_raw, p.is_x402) for p in truth.payments)
    assert 0 < sum(1 for p in truth.payments if not p.is_x402) < len(truth.payments)


def test_event_counts_in_truth_match_get_logs(simulated: tuple[DevnetPair, GroundTruth]) -> None:
    pair, truth = simulated
    for chain in (OPENGRADIENT, BASE):
        with AnvilClient(pair.urls[chain.name]) as rpc:
            logs = _logs(rpc)
        got = Counter((log["address"], log["topics"][0]) for log in logs)
        anomalies = Counter((a.address, a.topic0) for a in truth.anomalies if a.chain == chain.name)
        counts = truth.chains[chain.name].event_counts
        for key, n in counts.items():
            role, name = key.split(".")
            topics = {e.topic0 for c in chain.contracts if c.role == role
                      for f in c.abi_files for e in load_abi(f)[0] if e.name == name}
            matching = [k for k in got
                        if k[0] in chain.addresses_with_role(role) and k[1] in topics]
            assert sum(got[k] - anomalies[k] for k in matching) == n, key
        assert len(logs) == sum(counts.values()) + sum(anomalies.values())
        assert len(logs) == truth.chains[chain.name].logs


def test_tees_in_truth_match_registry_logs_and_registration_calldata(
    simulated: tuple[DevnetPair, GroundTruth],
) -> None:
    pair, truth = simulated
    register = _function("TEERegistry.json", "registerTEEWithAttestation")
    beat = _event("TEERegistry.json", "HeartbeatReceived").topic0
    registered = _event("TEERegistry.json", "TEERegistered").topic0
    with AnvilClient(pair.og.url) as rpc:
        regs = _logs(rpc, address=actors.REGISTRY, topics=[registered])
        txs = rpc.batch([("eth_getTransactionByHash", [r["transactionHash"]]) for r in regs])
        beats = Counter(log["topics"][1] for log in _logs(rpc, topics=[beat])
                        if len(log["data"]) == 2 + 64)
    assert len(regs) == len(truth.tees) == 8
    by_id = {t.tee_id: t for t in truth.tees}
    for log, tx in zip(regs, txs, strict=True):
        tee = by_id[log["topics"][1]]
        assert tx["input"][:10] == "0x15c9bdb4" and tx["from"] == tee.owner
        fields = abi_decode([p.type for p in register.params], bytes.fromhex(tx["input"][10:]))
        assert (fields[3], fields[4], fields[5]) == (tee.payment_address, tee.endpoint,
                                                     tee.tee_type)
        assert int(log["blockNumber"], 16) == tee.registered_block
        assert beats[tee.tee_id] == tee.heartbeats
    fates = Counter(t.fate for t in truth.tees)
    assert fates == {"live": 4, "dead": 2, "disabled": 1, "toggled": 1}
    assert [t.active_at_end for t in truth.tees if t.fate in ("dead", "disabled")] == [False] * 3


def test_settlements_and_legacy_inferences_in_truth_match_the_chain(
    simulated: tuple[DevnetPair, GroundTruth],
) -> None:
    pair, truth = simulated
    with AnvilClient(pair.og.url) as rpc:
        batches = _logs(rpc, address=actors.RELAY,
                        topics=[_event("InferenceSettlementRelay.json", "BatchSettlement").topic0])
        senders = rpc.batch([("eth_getTransactionByHash", [b["transactionHash"]])
                             for b in batches])
        f4_logs = _logs(rpc, address=actors.PRECOMPILE)
        f4_txs = rpc.batch([("eth_getTransactionByHash", [g["transactionHash"]])
                            for g in f4_logs])
    trusted_sizes = sorted(int(b["data"][2:66], 16) for b, tx in zip(batches, senders, strict=True)
                           if tx["from"] in truth.actors.relayers)
    assert trusted_sizes == sorted(s.inferences for s in truth.settlements
                                   if s.kind == "batch" and s.trusted)
    assert all(s.batch_size is not None and s.batch_size <= 20 for s in truth.settlements
               if s.kind == "batch")
    names = {e.topic0: e.name for e in load_abi("InferencePrecompile_0xF4.json")[0]}
    on_chain = Counter((int(g["blockNumber"], 16), names[g["topics"][0]], tx["from"])
                       for g, tx in zip(f4_logs, f4_txs, strict=True))
    assert on_chain == Counter((i.block, i.event, i.payer) for i in truth.inferences
                               if i.source == "precompile")
    daily_settled = sum(d.inferences_settled for d in truth.daily.values())
    assert daily_settled == sum(s.inferences for s in truth.settlements if s.trusted)


def test_truth_holds_the_edge_case_payers_and_unused_catalog_models(
    simulated: tuple[DevnetPair, GroundTruth],
) -> None:
    _, truth = simulated
    midnight = [p for p in truth.payers.values()
                if (p.first_payment_at, p.last_payment_at) == ("2026-05-04T23:59:00Z",
                                                               "2026-05-05T00:01:00Z")]
    assert len(midnight) == 1 and midnight[0].returning and midnight[0].payments == 2
    twice = [p for p in truth.payers.values()
             if p.payments == 2 and p.first_payment_at == "2026-05-05T10:00:00Z"
             and p.last_payment_at == "2026-05-05T16:30:00Z"]
    assert len(twice) == 1 and not twice[0].returning
    unused = [m for m in truth.catalog
              if truth.models[m.model].legacy_inferences == 0
              and truth.models[m.model].metadata_settlements == 0]
    assert len(unused) > len(truth.catalog) // 2
    assert any(not m.listed and m.legacy_inferences > 0 for m in truth.models.values())
    assert sum(1 for e in truth.x402_events if e.event == "EIP2612PermitFailedWithReason") == 2
    assert all(int(p.amount_raw) <= 10**17 for p in truth.x402_payments)


def test_anomalies_are_on_chain_at_watched_addresses(
    simulated: tuple[DevnetPair, GroundTruth],
) -> None:
    pair, truth = simulated
    assert Counter((a.chain, a.status) for a in truth.anomalies) == Counter(
        {("base", "unknown_topic"): 1, ("base", "decode_error"): 1,
         ("opengradient", "unknown_topic"): 1, ("opengradient", "decode_error"): 1})
    for a in truth.anomalies:
        chain = OPENGRADIENT if a.chain == "opengradient" else BASE
        assert a.address in chain.watched_addresses
        with AnvilClient(pair.urls[a.chain]) as rpc:
            logs = _logs(rpc, fromBlock=hex(a.block), toBlock=hex(a.block), address=a.address,
                         topics=[a.topic0])
        if a.status == "decode_error":
            assert any((len(g["data"]) - 2) // 2 % 32 != 0 for g in logs)
        else:
            assert len(logs) == 1


def test_devnet_up_is_idempotent_and_down_stops_both_nodes(tmp_path: Path) -> None:
    og_port, base_port = free_port(), free_port()
    try:
        nodes, started = up(og_port, base_port, state_dir=tmp_path)
        assert sorted(started) == ["base", "opengradient"]
        assert {(n.name, n.chain_id, n.port, n.running, n.block) for n in nodes} == {
            ("opengradient", 10740, og_port, True, 0), ("base", 8453, base_port, True, 0)}
        again, started_again = up(og_port, base_port, state_dir=tmp_path)
        assert started_again == [] and [n.pid for n in again] == [n.pid for n in nodes]
        assert (tmp_path / "opengradient.log").exists()
        with AnvilClient(nodes[1].url) as rpc:
            assert rpc.call("eth_getCode", [actors.RELAY, "latest"]) != "0x"
    finally:
        stopped = down(state_dir=tmp_path)
    assert sorted(stopped) == ["base", "opengradient"]
    assert status(state_dir=tmp_path) == []


def test_anvil_keeps_its_paged_out_states_in_a_folder_of_its_own_removed_on_stop() -> None:
    from pathlib import Path

    from indexer.devnet.anvil import anvil_home, start_anvil

    node = start_anvil(8453)
    home = anvil_home(node.port)
    try:
        environ = Path(f"/proc/{node.pid}/environ").read_bytes().split(b"\0")
        assert f"HOME={home}".encode() in environ  # not the user's ~/.foundry/anvil/tmp
        assert home.is_dir()
    finally:
        node.stop()
    assert not home.exists()
