-- og.demand_quality: one row per UTC day with an x402 payment: payments, payers and revenue split
-- by the payer's funding class (og.payer_funding.funding_class: insider, market, bridge_or_mint,
-- contract, eoa, unknown), the organic part (every class but insider) and the recycled part.
-- payers_* count distinct payers that day; a payer has one class, so the class columns add up to
-- the totals. recycled_* = payments made after the payer received OPG straight from a payTo address
-- or a facilitator (og.payer_funding.recycled_*); recycled_share = recycled revenue / revenue.
-- Caveats: "organic" only means no insider was found within two hops among the configured and
-- derived insiders: an insider funding through a fresh wallet further away, or through an
-- unlabelled exchange, looks organic. A payer's class is decided by its funding before its first
-- payment and applies to all its payments. Payers are wallets, often relay wallets of apps.
create or replace view og.demand_quality as
-- Payments are grouped per (day, payer) first, like og.daily_activity (index payments_day_payer),
-- then classed by a hash join with the payers (a payer has one class: no count(distinct)).
-- Recycled payments are read per recycling payer (index payments_payer_time). pf is used twice,
-- so og.payer_funding is computed once.
with pf as (
    select f.payer, f.funding_class, f.recycled_block, f.recycled_log_index
    from og.payer_funding f
),
per_payer_day as (
    select (p.block_time at time zone 'UTC')::date as day, p.payer, count(*) as payments,
           sum(p.amount_opg) as revenue_opg
    from og.x402_payments p
    group by 1, 2
),
recycled as (
    select (p.block_time at time zone 'UTC')::date as day, pf.payer, count(*) as recycled_payments,
           sum(p.amount_opg) as recycled_revenue_opg
    from pf
    cross join lateral (
        select p.block_time, p.amount_opg
        from og.x402_payments p
        where p.payer = pf.payer
          and (p.block_number, p.log_index) > (pf.recycled_block, pf.recycled_log_index)
        offset 0  -- a probe per recycling payer, never a sort of every payment
    ) p
    where pf.recycled_block is not null
    group by 1, 2
),
d as (
    select x.day, x.payer, x.payments, x.revenue_opg,
           coalesce(pf.funding_class, 'unknown') as funding_class,
           coalesce(r.recycled_payments, 0) as recycled_payments,
           coalesce(r.recycled_revenue_opg, 0) as recycled_revenue_opg
    from per_payer_day x
    left join pf on pf.payer = x.payer
    left join recycled r on r.day = x.day and r.payer = x.payer
)
select
    d.day,
    sum(d.payments)::bigint as payments,
    count(*) as payers,
    sum(d.revenue_opg) as revenue_opg,
    coalesce(sum(d.payments) filter (where d.funding_class = 'insider'), 0)::bigint as payments_insider,
    count(*) filter (where d.funding_class = 'insider') as payers_insider,
    coalesce(sum(d.revenue_opg) filter (where d.funding_class = 'insider'), 0) as revenue_opg_insider,
    coalesce(sum(d.payments) filter (where d.funding_class = 'market'), 0)::bigint as payments_market,
    count(*) filter (where d.funding_class = 'market') as payers_market,
    coalesce(sum(d.revenue_opg) filter (where d.funding_class = 'market'), 0) as revenue_opg_market,
    coalesce(sum(d.payments) filter (where d.funding_class = 'bridge_or_mint'), 0)::bigint as payments_bridge_or_mint,
    count(*) filter (where d.funding_class = 'bridge_or_mint') as payers_bridge_or_mint,
    coalesce(sum(d.revenue_opg) filter (where d.funding_class = 'bridge_or_mint'), 0) as revenue_opg_bridge_or_mint,
    coalesce(sum(d.payments) filter (where d.funding_class = 'contract'), 0)::bigint as payments_contract,
    count(*) filter (where d.funding_class = 'contract') as payers_contract,
    coalesce(sum(d.revenue_opg) filter (where d.funding_class = 'contract'), 0) as revenue_opg_contract,
    coalesce(sum(d.payments) filter (where d.funding_class = 'eoa'), 0)::bigint as payments_eoa,
    count(*) filter (where d.funding_class = 'eoa') as payers_eoa,
    coalesce(sum(d.revenue_opg) filter (where d.funding_class = 'eoa'), 0) as revenue_opg_eoa,
    coalesce(sum(d.payments) filter (where d.funding_class = 'unknown'), 0)::bigint as payments_unknown,
    count(*) filter (where d.funding_class = 'unknown') as payers_unknown,
    coalesce(sum(d.revenue_opg) filter (where d.funding_class = 'unknown'), 0) as revenue_opg_unknown,
    coalesce(sum(d.payments) filter (where d.funding_class <> 'insider'), 0)::bigint as organic_payments,
    count(*) filter (where d.funding_class <> 'insider') as organic_payers,
    coalesce(sum(d.revenue_opg) filter (where d.funding_class <> 'insider'), 0) as organic_revenue_opg,
    sum(d.recycled_payments)::bigint as recycled_payments,
    sum(d.recycled_revenue_opg) as recycled_revenue_opg,
    sum(d.recycled_revenue_opg) / nullif(sum(d.revenue_opg), 0) as recycled_share
from d
group by d.day
order by d.day;

comment on view og.demand_quality is
    'One row per UTC day with an x402 payment: payments, payers and revenue by the payers'' '
    'funding class (insider, market, bridge_or_mint, contract, eoa, unknown), the organic part '
    '(not insider) and the recycled part (paid after receiving OPG from a payTo or facilitator).';
