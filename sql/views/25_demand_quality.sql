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
with x as (
    select
        (p.block_time at time zone 'UTC')::date as day,
        p.payer,
        p.amount_opg,
        coalesce(f.funding_class, 'unknown') as funding_class,
        f.recycled_block is not null
            and (p.block_number, p.log_index) > (f.recycled_block, f.recycled_log_index) as recycled
    from og.payments p
    left join og.payer_funding f on f.chain_id = p.chain_id and f.payer = p.payer
    where p.is_x402
)
select
    x.day,
    count(*) as payments,
    count(distinct x.payer) as payers,
    sum(x.amount_opg) as revenue_opg,
    count(*) filter (where x.funding_class = 'insider') as payments_insider,
    count(distinct x.payer) filter (where x.funding_class = 'insider') as payers_insider,
    coalesce(sum(x.amount_opg) filter (where x.funding_class = 'insider'), 0) as revenue_opg_insider,
    count(*) filter (where x.funding_class = 'market') as payments_market,
    count(distinct x.payer) filter (where x.funding_class = 'market') as payers_market,
    coalesce(sum(x.amount_opg) filter (where x.funding_class = 'market'), 0) as revenue_opg_market,
    count(*) filter (where x.funding_class = 'bridge_or_mint') as payments_bridge_or_mint,
    count(distinct x.payer) filter (where x.funding_class = 'bridge_or_mint') as payers_bridge_or_mint,
    coalesce(sum(x.amount_opg) filter (where x.funding_class = 'bridge_or_mint'), 0) as revenue_opg_bridge_or_mint,
    count(*) filter (where x.funding_class = 'contract') as payments_contract,
    count(distinct x.payer) filter (where x.funding_class = 'contract') as payers_contract,
    coalesce(sum(x.amount_opg) filter (where x.funding_class = 'contract'), 0) as revenue_opg_contract,
    count(*) filter (where x.funding_class = 'eoa') as payments_eoa,
    count(distinct x.payer) filter (where x.funding_class = 'eoa') as payers_eoa,
    coalesce(sum(x.amount_opg) filter (where x.funding_class = 'eoa'), 0) as revenue_opg_eoa,
    count(*) filter (where x.funding_class = 'unknown') as payments_unknown,
    count(distinct x.payer) filter (where x.funding_class = 'unknown') as payers_unknown,
    coalesce(sum(x.amount_opg) filter (where x.funding_class = 'unknown'), 0) as revenue_opg_unknown,
    count(*) filter (where x.funding_class <> 'insider') as organic_payments,
    count(distinct x.payer) filter (where x.funding_class <> 'insider') as organic_payers,
    coalesce(sum(x.amount_opg) filter (where x.funding_class <> 'insider'), 0) as organic_revenue_opg,
    count(*) filter (where x.recycled) as recycled_payments,
    coalesce(sum(x.amount_opg) filter (where x.recycled), 0) as recycled_revenue_opg,
    coalesce(sum(x.amount_opg) filter (where x.recycled), 0) / nullif(sum(x.amount_opg), 0)
        as recycled_share
from x
group by x.day
order by x.day;

comment on view og.demand_quality is
    'One row per UTC day with an x402 payment: payments, payers and revenue by the payers'' '
    'funding class (insider, market, bridge_or_mint, contract, eoa, unknown), the organic part '
    '(not insider) and the recycled part (paid after receiving OPG from a payTo or facilitator).';
