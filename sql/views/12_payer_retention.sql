-- og.payer_retention: one row per payer cohort and week offset.
-- cohort_week = Monday (ISO week of the UTC day) of the payer's first x402 payment;
-- week_offset = 0, 1, ... up to the week of the latest indexed payments-chain block (every offset
-- appears, zero-filled, so the triangle is complete); active_payers = cohort members who paid in
-- week cohort_week + 7 * week_offset days; retention = active_payers / cohort_size (1 at offset
-- 0). The latest week is partial.
-- Caveat: payers are wallets; an application relaying for many users is one payer.
create or replace view og.payer_retention as
-- Weeks are numbered from Monday 1970-01-05 (integer arithmetic on the UTC day). One ordered pass
-- over index payments_payer_time collects each payer's distinct weeks, sorted: weeks[1] is the
-- cohort.
with payer_weeks as (
    select array_agg(distinct x.week order by x.week) as weeks
    from og.x402_payments p
    cross join lateral (
        select ((p.block_time at time zone 'UTC')::date - date '1970-01-05') / 7 as week
    ) x
    group by p.payer
),
activity as (
    select w.weeks[1] as cohort, u.week - w.weeks[1] as week_offset, count(*) as active_payers
    from payer_weeks w
    cross join lateral unnest(w.weeks) as u (week)
    group by 1, 2
),
sizes as (
    select a.cohort, a.active_payers as cohort_size
    from activity a
    where a.week_offset = 0
),
last_week as (
    -- The payments chain head's week, at least the last week with a payment.
    select greatest(
        (select ((max(w.payments_head_at) at time zone 'UTC')::date - date '1970-01-05') / 7
         from og.windows w),
        (select max(a.cohort + a.week_offset) from activity a)
    ) as week
)
select
    date '1970-01-05' + 7 * s.cohort as cohort_week,
    o.week_offset,
    s.cohort_size,
    coalesce(a.active_payers, 0) as active_payers,
    coalesce(a.active_payers, 0)::numeric / s.cohort_size as retention
from sizes s
cross join last_week l
cross join lateral generate_series(0, l.week - s.cohort) as o (week_offset)
left join activity a on a.cohort = s.cohort and a.week_offset = o.week_offset
order by 1, 2;

comment on view og.payer_retention is
    'One row per (cohort_week, week_offset): payers whose first x402 payment fell in that UTC '
    'ISO week, how many paid week_offset weeks later, and the share. Offsets run to the Base '
    'head week.';
