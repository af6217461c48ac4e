-- og.payer_stats: one row per payer (the `from` of an x402 OPG payment on Base) who ever paid.
-- payments / total_opg over all time; active_days = distinct UTC days with a payment;
-- returning = paid on at least two distinct UTC days (two payments the same day do not count).
-- *_7d / *_30d: payments and OPG in the rolling window ending at the latest indexed block time of
-- the payments chain (og.windows), not now(); 0 when the payer did not pay in the window.
-- funding_class: the payer's class in og.payer_funding (where its OPG came from before its first
-- payment; insider, market, bridge_or_mint, contract, eoa or unknown).
-- Caveats: only og.x402_payments rows are payments; a payer is a wallet (often an application's relay
-- wallet, not an end user); a payment covers a session of requests and names no model.
create or replace view og.payer_stats as
select s.*, f.funding_class
from (
-- One ordered pass over index payments_payer_time (payer, block_time) incl. amount_opg: no hash
-- of addresses, and each payer's days arrive sorted for count(distinct day).
select
    p.payer,
    min(p.block_time) as first_payment_at,
    max(p.block_time) as last_payment_at,
    count(*) as payments,
    count(distinct (p.block_time at time zone 'UTC')::date) as active_days,
    sum(p.amount_opg) as total_opg,
    count(distinct (p.block_time at time zone 'UTC')::date) >= 2 as returning,
    count(*) filter (where p.block_time > (select w.payments_from from og.windows w
                                            where w."window" = '7d')) as payments_7d,
    coalesce(sum(p.amount_opg) filter (where p.block_time > (select w.payments_from
                                       from og.windows w where w."window" = '7d')), 0)
        as total_opg_7d,
    count(*) filter (where p.block_time > (select w.payments_from from og.windows w
                                            where w."window" = '30d')) as payments_30d,
    coalesce(sum(p.amount_opg) filter (where p.block_time > (select w.payments_from
                                       from og.windows w where w."window" = '30d')), 0)
        as total_opg_30d
from og.x402_payments p
group by p.payer
) s
-- grouped by payer, so Postgres can prove one row per payer and skips the funding trace entirely
-- when a query (og.demand_concentration, og.window_summary) does not read funding_class
left join (select pf.payer, min(pf.funding_class) as funding_class
           from og.payer_funding pf group by pf.payer) f on f.payer = s.payer;

comment on view og.payer_stats is
    'One row per payer (x402 OPG payments on Base): first/last payment, payments, active UTC '
    'days, total OPG, returning (paid on >= 2 distinct UTC days), and 7d/30d figures anchored '
    'at the Base head, and the payer''s funding_class (og.payer_funding).';
