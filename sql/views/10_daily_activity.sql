-- og.daily_activity: one row per UTC calendar day (of block_time) on which anything counted
-- happened on either chain: an x402 payment (Base), a trusted settlement, a legacy-path inference
-- or a TEE heartbeat (OpenGradient). Days with nothing are absent, not zero-filled.
-- settled_inferences = sum(inferences) of trusted settlements (batch: batch_size; individual and
-- legacy single/metadata: 1; legacy batch: batch_size). verified_inferences = trusted individual
-- settlements whose TEE signature the relay checked on-chain (og.trusted_settlements.verified). batches counts current-pipeline
-- 'batch' settlements only (legacy batches are inside settled_inferences).
-- payments: og.x402_payments (plain OPG transfers to payTo are not payments).
-- new_payers: first payment ever that day; returning_payers: paid that day, first payment on an
-- earlier day. Caveats: a payment settles a whole session (many requests, maybe several models)
-- and cannot be joined to settlements; a payer is a wallet, often an app's relay wallet, not an
-- end user; untrusted settlements (sender not a configured relayer) and private-mode inferences
-- are not counted.
create or replace view og.daily_activity as
with recursive pay as (
    -- Index payments_day_payer streams (day, payer) in order: count(distinct payer) needs no hash.
    select
        (p.block_time at time zone 'UTC')::date as day,
        count(*) as payments,
        count(distinct p.payer) as payers,
        sum(p.amount_opg) as revenue_opg
    from og.x402_payments p
    group by 1
),
first_payments (payer, first_at) as (
    -- Each payer's first payment, by a skip scan over index payments_payer_time: one index probe
    -- per payer instead of reading every payment.
    (select p.payer, p.block_time from og.x402_payments p
     order by p.payer, p.block_time limit 1)
    union all
    select n.payer, n.block_time
    from first_payments f
    cross join lateral (
        select p.payer, p.block_time from og.x402_payments p
        where p.payer > f.payer
        order by p.payer, p.block_time limit 1
    ) n
),
new_payers as (
    select (f.first_at at time zone 'UTC')::date as day, count(*) as new_payers
    from first_payments f
    group by 1
),
settled as (
    select
        (s.block_time at time zone 'UTC')::date as day,
        sum(s.inferences) as settled_inferences,
        count(*) filter (where s.verified) as verified_inferences,
        count(*) filter (where s.kind = 'batch') as batches,
        count(*) filter (where s.kind = 'individual') as individual_settlements
    from og.trusted_settlements s
    group by 1
),
legacy as (
    select (i.block_time at time zone 'UTC')::date as day, count(*) as legacy_path_inferences
    from og.legacy_path_inferences i
    group by 1
),
heartbeat_days (day, tee_id) as (
    -- Distinct (day, TEE) pairs by a skip scan over index tee_events_heartbeat_day: one probe
    -- per pair, not one row per heartbeat (~96 a day per TEE).
    (select (e.block_time at time zone 'UTC')::date, e.tee_id from og.tee_events e
     where e.event = 'HeartbeatReceived'
     order by (e.block_time at time zone 'UTC')::date, e.tee_id limit 1)
    union all
    select n.day, n.tee_id
    from heartbeat_days h
    cross join lateral (
        select (e.block_time at time zone 'UTC')::date as day, e.tee_id from og.tee_events e
        where e.event = 'HeartbeatReceived'
          and ((e.block_time at time zone 'UTC')::date, e.tee_id) > (h.day, h.tee_id)
        order by (e.block_time at time zone 'UTC')::date, e.tee_id limit 1
    ) n
),
heartbeats as (
    select h.day, count(*) as heartbeating_tees
    from heartbeat_days h
    group by h.day
),
days as (
    select day from pay
    union select day from settled
    union select day from legacy
    union select day from heartbeats
)
select
    d.day,
    coalesce(s.settled_inferences, 0) as settled_inferences,
    coalesce(s.verified_inferences, 0) as verified_inferences,
    coalesce(s.batches, 0) as batches,
    coalesce(s.individual_settlements, 0) as individual_settlements,
    coalesce(p.payments, 0) as payments,
    coalesce(p.payers, 0) as payers,
    coalesce(n.new_payers, 0) as new_payers,
    coalesce(p.payers - coalesce(n.new_payers, 0), 0) as returning_payers,
    coalesce(p.revenue_opg, 0) as revenue_opg,
    coalesce(h.heartbeating_tees, 0) as heartbeating_tees,
    coalesce(l.legacy_path_inferences, 0) as legacy_path_inferences
from days d
left join pay p on p.day = d.day
left join new_payers n on n.day = d.day
left join settled s on s.day = d.day
left join legacy l on l.day = d.day
left join heartbeats h on h.day = d.day
order by d.day;

comment on view og.daily_activity is
    'One row per UTC day with any activity: trusted settled/verified inferences, batches, '
    'individual settlements, x402 payments, payers (new, returning), revenue in OPG, '
    'heartbeating TEEs, legacy-path inferences. Payments cannot be linked to inferences.';
