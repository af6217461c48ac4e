-- og.payer_funding: one row per x402 payer: where its OPG came from before its first payment
-- (og.funding_transfers), its overall funding class, and whether payee money came back through it.
-- first_funder / first_funder_class / first_funded_at / first_funding_opg: the earliest hop-1
-- transfer; funded_opg / funding_transfers: all hop-1 transfers before the first payment.
-- funding_class, by this rule over the traced funders (hop 1, and hop 2 behind unlabelled hop-1
-- funders): insider if any is an insider; else market if any is a market; else bridge_or_mint if
-- any is; else the first funder's own class (contract, eoa or unknown); unknown when nothing was
-- traced (e.g. funded before the indexed range). class_hop / class_funder: the funder that decided
-- it (the earliest of the deciding class, nearest hop first).
-- recycled_at / recycled_block / recycled_log_index: the first OPG the payer ever received straight
-- from a payTo address or a facilitator (payee money coming back); recycled_payments: its x402
-- payments after that transfer, in chain order. Only the direct transfer is a recycling sign here.
-- Caveats: "not insider" is not "organic" proven: an insider funding through a fresh wallet more
-- than two hops away, or through an unlabelled exchange, is not seen; labels are only what the
-- configuration and the payments name. A payer is a wallet, often an application's relay wallet.
create or replace view og.payer_funding as
-- ft is read three times, so Postgres computes the trace once (a CTE used more than once is
-- materialized) instead of expanding the view three times.
with ft as (
    select * from og.funding_transfers
),
payers as (
    -- one grouped index-only pass over payments_payer_time (payer, block_time)
    select p.payer, min(p.block_time) as first_payment_at
    from og.x402_payments p
    group by p.payer
),
first_funding as (
    select distinct on (f.payer) f.payer, f.funder, f.funder_class, f.block_time, f.amount_opg
    from ft f
    where f.hop = 1
    order by f.payer, f.block_number, f.log_index
),
funded as (
    select f.payer, sum(f.amount_opg) as funded_opg, count(*) as funding_transfers
    from ft f
    where f.hop = 1
    group by f.payer
),
decided as (
    select distinct on (f.payer) f.payer, f.funder_class, f.hop, f.funder
    from ft f
    where f.funder_class in ('insider', 'market', 'bridge_or_mint')
    order by f.payer,
             case f.funder_class when 'insider' then 1 when 'market' then 2 else 3 end,
             f.hop, f.block_number, f.log_index
),
payees as materialized (
    -- payTo addresses (configured or named by payments) and facilitators
    select distinct l.chain_id, l.address
    from og.address_labels l
    where l.source in ('pay_to', 'payments')
),
recycled as (
    -- per payer, its transfers in chain order (index token_transfers_to) up to the first from a payee
    select py.payer, t.block_time, t.block_number, t.log_index
    from payers py
    cross join lateral (
        select t.block_time, t.block_number, t.log_index
        from og.token_transfers t
        where t.to_address = py.payer
          and (t.chain_id, t.from_address) in (select e.chain_id, e.address from payees e)
        order by t.block_number, t.log_index
        limit 1
    ) t
)
select
    py.payer,
    py.first_payment_at,
    ff.funder as first_funder,
    ff.funder_class as first_funder_class,
    ff.block_time as first_funded_at,
    ff.amount_opg as first_funding_opg,
    coalesce(fu.funded_opg, 0) as funded_opg,
    coalesce(fu.funding_transfers, 0) as funding_transfers,
    coalesce(d.funder_class, ff.funder_class, 'unknown') as funding_class,
    case when d.hop is not null then d.hop when ff.funder is not null then 1 end as class_hop,
    coalesce(d.funder, ff.funder) as class_funder,
    r.block_time as recycled_at,
    r.block_number as recycled_block,
    r.log_index as recycled_log_index,
    (select count(*) from og.x402_payments p
     where r.payer is not null and p.payer = py.payer
       and (p.block_number, p.log_index) > (r.block_number, r.log_index)) as recycled_payments
from payers py
left join first_funding ff on ff.payer = py.payer
left join funded fu on fu.payer = py.payer
left join decided d on d.payer = py.payer
left join recycled r on r.payer = py.payer;

comment on view og.payer_funding is
    'One row per x402 payer: first funder and its class, OPG funded before the first payment, '
    'funding_class (insider > market > bridge_or_mint > first funder''s contract/eoa/unknown, over '
    'two hops), and recycling (OPG received straight from a payTo or facilitator before paying).';
