-- og.payer_retention_by_funding: one row per (funding_class, cohort_week, week_offset): the weekly
-- retention triangle of og.payer_retention, split by the payer's funding class
-- (og.payer_funding.funding_class). Same rules: cohort_week = Monday of the UTC ISO week of the
-- payer's first x402 payment; week_offset runs to the week of the latest indexed Base block, zero
-- filled; retention = active_payers / cohort_size. Summed over classes it equals og.payer_retention.
-- Caveats: a class describes where the payer's OPG came from before its first payment (two hops at
-- most), not who the payer is; payers are wallets.
create or replace view og.payer_retention_by_funding as
with payer_weeks as (
    select p.payer, array_agg(distinct x.week order by x.week) as weeks
    from og.x402_payments p
    cross join lateral (
        select ((p.block_time at time zone 'UTC')::date - date '1970-01-05') / 7 as week
    ) x
    group by p.payer
),
classed as (
    select w.weeks, coalesce(f.funding_class, 'unknown') as funding_class
    from payer_weeks w
    left join og.payer_funding f on f.payer = w.payer
),
activity as (
    select c.funding_class, c.weeks[1] as cohort, u.week - c.weeks[1] as week_offset,
           count(*) as active_payers
    from classed c
    cross join lateral unnest(c.weeks) as u (week)
    group by 1, 2, 3
),
sizes as (
    select a.funding_class, a.cohort, a.active_payers as cohort_size
    from activity a
    where a.week_offset = 0
),
last_week as (
    select greatest(
        (select ((max(w.payments_head_at) at time zone 'UTC')::date - date '1970-01-05') / 7
         from og.windows w),
        (select max(a.cohort + a.week_offset) from activity a)
    ) as week
)
select
    s.funding_class,
    date '1970-01-05' + 7 * s.cohort as cohort_week,
    o.week_offset,
    s.cohort_size,
    coalesce(a.active_payers, 0) as active_payers,
    coalesce(a.active_payers, 0)::numeric / s.cohort_size as retention
from sizes s
cross join last_week l
cross join lateral generate_series(0, l.week - s.cohort) as o (week_offset)
left join activity a
  on a.funding_class = s.funding_class and a.cohort = s.cohort and a.week_offset = o.week_offset
order by 1, 2, 3;

comment on view og.payer_retention_by_funding is
    'One row per (funding_class, cohort_week, week_offset): og.payer_retention split by the '
    'payers'' funding class (og.payer_funding). Offsets run to the Base head week.';
