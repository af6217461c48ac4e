-- og.x402_payments: one row per x402 payment (internal: a building block of the demand views, not
-- a report of its own). Every column of og.payments, for its rows with is_x402: an OPG Transfer to
-- a payTo address in a transaction carrying an x402 proxy Settled* log. Plain OPG transfers to
-- payTo stay in og.payments and are never payments. This is the one place that says so: every
-- view that counts payments, payers or revenue reads this view, never og.payments.
-- A plain filter: Postgres inlines it into each query, so readers keep their index scans
-- (payments_payer_time and payments_day_payer are partial indexes on is_x402).
create or replace view og.x402_payments as
select p.*
from og.payments p
where p.is_x402;

comment on view og.x402_payments is
    'Internal (read by the demand views): og.payments rows that are x402 payments (is_x402), every '
    'column. The one definition of a payment.';
