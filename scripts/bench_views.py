"""Benchmark every og view: build a large dataset in a scratch database, EXPLAIN ANALYZE each view.

Usage: .venv/bin/python -m scripts.bench_views [--dsn URL] [--payments N] [--settlements N]
       [--runs N] [--keep] [--reuse]

The dataset (deterministic, SQL generate_series) spans 120 days ending 2026-06-30 12:00 UTC:
N x402 payments (plus 5% plain transfers to payTo) from 20 000 heavy-tailed payers on Base,
N settlements (batch / individual / legacy kinds, 3% untrusted) and 200 000 legacy-path inferences
on OpenGradient, 50 TEEs heartbeating every 900 s, the SDK catalog plus 30 ONNX listings.
Prints, per view, the rows returned and the best EXPLAIN ANALYZE execution time over --runs runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

import asyncpg

from indexer import catalog, db, store

DB_NAME = "og_bench_views"
HEAD = "2026-06-30 12:00:00+00"
DAYS = 120

GENERATE = """
select setseed(0.42);

-- Realistic key widths: 0x + 40 hex for addresses, 0x + 64 hex for hashes and TEE ids.
create function pg_temp.addr(seed text) returns text language sql immutable
    as $$ select '0x' || md5(seed) || left(md5(seed || '.'), 8) $$;
create function pg_temp.hash(seed text) returns text language sql immutable
    as $$ select '0x' || md5(seed) || md5(seed || '.') $$;

-- Base blocks: two payments per block, 2 s apart, ending at the head.
insert into og.blocks (chain_id, block_number, block_hash, parent_hash, block_time)
select 8453, b, pg_temp.hash('b' || b), pg_temp.hash('b' || (b - 1)),
       timestamptz '{head}' - ({half_pay} - b) * (interval '{days} days' / {half_pay})
from generate_series(1, {half_pay}) b;

insert into og.payments (chain_id, block_number, block_hash, block_time, tx_hash, log_index, token,
                         payer, payee, amount_raw, amount_opg, is_x402, scheme, proxy)
select 8453, b.block_number, b.block_hash, b.block_time, pg_temp.hash('tx' || i), (i % 2)::int,
       '0xfbc2051ae2265686a469421b2c5a2d5462fbf5eb',
       pg_temp.addr('payer' || floor(20000 * power(random(), 3))::int),
       '0x9deebb5d1b22e4a6e027977cead13893a7e4cc1a',
       (a * 1e18)::numeric(78,0), a, random() >= 0.05, 'upto',
       '0x4020a4f3b7b90cca423b9fabcc0ce57c6c240002'
from (select i, round((random() * 0.1)::numeric, 6) as a
      from generate_series(0, {payments} - 1) i) g
join og.blocks b on b.chain_id = 8453 and b.block_number = i / 2 + 1;

-- OpenGradient blocks: two settlements per block.
insert into og.blocks (chain_id, block_number, block_hash, parent_hash, block_time)
select 10740, b, pg_temp.hash('o' || b), pg_temp.hash('o' || (b - 1)),
       timestamptz '{head}' - ({half_set} - b) * (interval '{days} days' / {half_set})
from generate_series(1, {half_set}) b;

insert into og.settlements (chain_id, block_number, block_hash, block_time, tx_hash, log_index,
                            relay, kind, inferences, batch_size, tee_id, verified_on_chain, model,
                            tx_from, trusted)
select 10740, b.block_number, b.block_hash, b.block_time, pg_temp.hash('st' || i), (i % 2)::int,
       '0xf1dc0d5dcf2a01924fac78185b9227cf3ec839a5',
       k.kind,
       case when k.kind in ('batch', 'legacy_batch') then k.size else 1 end,
       case when k.kind in ('batch', 'legacy_batch') then k.size end,
       case when k.kind = 'individual' then pg_temp.hash('tee' || (i % 50)) end,
       k.kind = 'individual',
       case when k.kind = 'legacy_metadata'
            then (array['openai/', '', 'OpenAI/'])[1 + i % 3] || 'model-' || (i % 80) end,
       case when k.trusted then pg_temp.addr('relayer') else pg_temp.addr('stranger') end,
       k.trusted
from (select i,
             case when r < 0.70 then 'batch' when r < 0.95 then 'individual'
                  when r < 0.97 then 'legacy_single' when r < 0.98 then 'legacy_batch'
                  else 'legacy_metadata' end as kind,
             1 + floor(random() * 40)::int as size,
             random() >= 0.03 as trusted
      from (select i, random() as r from generate_series(0, {settlements} - 1) i) x) k
join og.blocks b on b.chain_id = 10740 and b.block_number = k.i / 2 + 1;

insert into og.inferences (chain_id, block_number, block_hash, block_time, tx_hash, log_index,
                           contract, source, event, model, mode, mode_name, payer)
select 10740, b.block_number, b.block_hash, b.block_time, pg_temp.hash('inf' || i), 2 + i,
       '0x00000000000000000000000000000000000000f4', 'llm_chat',
       'LLMChat', case when i % 10 = 0 then null else 'Model-' || (i % 60) end,
       (i % 3)::smallint, (array['VANILLA', 'ZKML', 'TEE'])[1 + i % 3],
       pg_temp.addr('user' || floor(5000 * power(random(), 2))::int)
from generate_series(0, {inferences} - 1) i
join og.blocks b on b.chain_id = 10740 and b.block_number = 1 + (i * 5) % {half_set};

-- 50 TEEs heartbeating every 900 s for the whole span; ten stopped 2 days before the head.
insert into og.tee_events (chain_id, block_number, block_hash, block_time, tx_hash, log_index,
                           registry, event, tee_id, heartbeat_timestamp, args)
select 10740, 0, 'hb', timestamptz '{head}' - h * interval '900 seconds',
       pg_temp.hash('hb' || t || '-' || h), t * 100000 + h,
       '0x703cb174aeadb35d611858369b4b1111dc9abda6',
       'HeartbeatReceived', pg_temp.hash('tee' || t),
       extract(epoch from timestamptz '{head}' - h * interval '900 seconds')::numeric, '{{}}'
from generate_series(0, 49) t
cross join generate_series(case when t < 10 then 192 else 0 end, {days} * 96 - 1) h;

insert into og.tees (chain_id, registry, tee_id, owner, tee_type, enabled, registered_at,
                     last_heartbeat_at, heartbeats)
select 10740, '0x703cb174aeadb35d611858369b4b1111dc9abda6', e.tee_id, pg_temp.addr('owner'), 0,
       e.tee_id <> pg_temp.hash('tee49'),
       min(e.block_time), max(e.block_time), count(*)
from og.tee_events e
group by e.tee_id;

insert into og.models (model, kind, source)
select 'onnx/Model-' || m, 'onnx', 'bench' from generate_series(0, 29) m;

-- Funding trace (issue #14): every payment is an OPG Transfer too, and each payer was funded the
-- block before its first payment: by the treasury (insider), a pool (market), a mint, a contract
-- (code read), or through a wallet a mint funded two blocks before (two hops).
insert into og.token_transfers (chain_id, block_number, block_hash, block_time, tx_hash, log_index,
                                token, from_address, to_address, amount_raw, amount_opg, kind)
select chain_id, block_number, block_hash, block_time, tx_hash, log_index, token, payer, payee,
       amount_raw, amount_opg, 'transfer'
from og.payments;
insert into og.address_labels (chain_id, address, label, source)
values (8453, pg_temp.addr('treasury'), 'insider', 'insiders'),
       (8453, pg_temp.addr('pool'), 'market', 'markets');
insert into og.address_labels (chain_id, address, label, source)
select distinct p.chain_id, a.address, 'insider', 'payments'
from og.payments p
cross join lateral unnest(array[p.payee, p.facilitator, p.tx_from]) as a (address)
where p.is_x402 and a.address is not null;
insert into og.address_code (chain_id, address, block_number, code_size)
values (8453, pg_temp.addr('disperser'), 1, 100);
with firsts as (
    select payer, min(block_number) as b, row_number() over (order by payer) as k
    from og.payments where is_x402 group by payer
)
insert into og.token_transfers (chain_id, block_number, block_hash, block_time, tx_hash, log_index,
                                token, from_address, to_address, amount_raw, amount_opg, kind)
select 8453, x.b, '0xb', timestamptz '{head}', pg_temp.hash('f' || f.k || '.' || x.hop), 2 + f.k,
       '0xfbc2051ae2265686a469421b2c5a2d5462fbf5eb', x.frm, x.dest, 10::numeric ^ 18, 1,
       case when x.frm = '0x0000000000000000000000000000000000000000' then 'mint' else 'transfer' end
from firsts f
cross join lateral (
    select f.b - 1 as b, 1 as hop,
           case f.k % 5 when 0 then pg_temp.addr('treasury') when 1 then pg_temp.addr('pool')
                        when 2 then '0x0000000000000000000000000000000000000000'
                        when 3 then pg_temp.addr('disperser') else pg_temp.addr('w' || f.k) end as frm,
           f.payer as dest
    union all
    select f.b - 2, 2, '0x0000000000000000000000000000000000000000', pg_temp.addr('w' || f.k)
    where f.k % 5 = 4
) x
where x.b >= 1;
"""


def _views() -> list[str]:
    return ["og." + p.stem.split("_", 1)[1] for p in store.view_files()]


async def _generate(dsn: str, args: argparse.Namespace) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'drop database if exists "{DB_NAME}"')
        await admin.execute(f'create database "{DB_NAME}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(db.other_database(dsn, DB_NAME))
    try:
        await store.migrate(conn)
        await catalog.seed(conn)
        sql = GENERATE.format(
            head=HEAD,
            days=DAYS,
            payments=args.payments,
            half_pay=(args.payments + 1) // 2,
            settlements=args.settlements,
            half_set=(args.settlements + 1) // 2,
            inferences=args.inferences,
        )
        started = time.monotonic()
        await conn.execute(sql)
        print(f"generated in {time.monotonic() - started:.1f} s", file=sys.stderr)
        await conn.execute("vacuum analyze")
    finally:
        await conn.close()


async def _best_ms(conn: asyncpg.Connection, view: str, runs: int) -> tuple[int, float]:
    """Rows returned and the best EXPLAIN ANALYZE execution time (per-node timing off: the total
    is still measured, without the instrumentation overhead) over runs."""
    best = float("inf")
    rows = 0
    for _ in range(runs):
        plan = await conn.fetchval(
            f"explain (analyze, timing off, format json) select * from {view}"
        )
        doc = json.loads(plan)[0]
        best = min(best, float(doc["Execution Time"]))
        rows = int(doc["Plan"]["Actual Rows"])
    return rows, best


async def _bench(dsn: str, runs: int) -> list[tuple[str, int, float, float]]:
    conn = await asyncpg.connect(db.other_database(dsn, DB_NAME))
    results = []
    try:
        await store.migrate(conn)  # views as the current files define them
        counts = {
            t: await conn.fetchval(f"select count(*) from og.{t}")
            for t in ("payments", "settlements", "inferences", "tee_events", "blocks", "models", "token_transfers")
        }
        print("dataset: " + ", ".join(f"{t}={n}" for t, n in counts.items()))
        version = await conn.fetchval("show server_version")
        jit = await conn.fetchval("show jit")
        work_mem = await conn.fetchval("show work_mem")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"server {version}, jit={jit}, work_mem={work_mem}; load average {load}")
        for view in _views():
            await conn.execute("reset jit")
            rows, default_ms = await _best_ms(conn, view, runs)
            await conn.execute("set jit = off")
            _, no_jit_ms = await _best_ms(conn, view, runs)
            results.append((view, rows, default_ms, no_jit_ms))
    finally:
        await conn.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dsn",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="server to create the scratch database on (default: $DATABASE_URL or local test db)",
    )
    parser.add_argument("--payments", type=int, default=1_000_000, help="payments (default 1M)")
    parser.add_argument("--settlements", type=int, default=1_000_000, help="default 1M")
    parser.add_argument("--inferences", type=int, default=200_000, help="legacy (default 200k)")
    parser.add_argument("--runs", type=int, default=3, help="EXPLAIN ANALYZE runs per view")
    parser.add_argument("--keep", action="store_true", help=f"keep database {DB_NAME} afterwards")
    parser.add_argument("--reuse", action="store_true", help=f"reuse an existing {DB_NAME}")
    args = parser.parse_args()

    if not args.reuse:
        asyncio.run(_generate(args.dsn, args))
    results = asyncio.run(_bench(args.dsn, args.runs))
    width = max(len(v) for v, *_ in results)
    print(f"{'view':<{width}}  {'rows':>8}  {'ms (jit default)':>16}  {'ms (jit off)':>12}")
    for view, rows, default_ms, no_jit_ms in results:
        flag = "" if min(default_ms, no_jit_ms) < 1000 else "  (over 1 s)"
        print(f"{view:<{width}}  {rows:>8}  {default_ms:>16.1f}  {no_jit_ms:>12.1f}{flag}")
    if not args.keep:

        async def drop() -> None:
            admin = await asyncpg.connect(args.dsn)
            try:
                await admin.execute(f'drop database if exists "{DB_NAME}"')
            finally:
                await admin.close()

        asyncio.run(drop())


if __name__ == "__main__":
    main()
