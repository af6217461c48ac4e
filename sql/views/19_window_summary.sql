-- og.window_summary: one row per window ('7d', '30d', 'all'), always three rows: the headline
-- figures of the demand report. Payment figures use the Base head, inference figures the
-- OpenGradient head (og.windows; rolling, not now()).
-- payers: paid in the window; new_payers: first payment ever inside the window; returning_payers:
-- paid in the window and returning overall (paid on >= 2 distinct UTC days, og.payer_stats).
-- settled/verified/batch/individual/legacy columns as in og.verification_coverage (trusted only).
-- Caveat: payments and inferences cannot be linked; shares of one by the other mean nothing.
create or replace view og.window_summary as
with pay as (
    select
        x."window",
        count(*) filter (where x.payments > 0) as payers,
        coalesce(sum(x.payments), 0)::bigint as payments,
        count(*) filter (where x.payments > 0 and ps.first_payment_at > w.payments_from)
            as new_payers,
        count(*) filter (where x.payments > 0 and ps.returning) as returning_payers,
        coalesce(sum(x.amount), 0) as revenue_opg
    from og.payer_stats ps
    cross join lateral (values ('7d', ps.payments_7d, ps.total_opg_7d),
                               ('30d', ps.payments_30d, ps.total_opg_30d),
                               ('all', ps.payments, ps.total_opg)) as x ("window", payments, amount)
    join og.windows w on w."window" = x."window"
    group by x."window"
),
settled_all as (
    -- One pass over trusted settlements for all three windows.
    select
        sum(s.inferences) filter (where s.block_time > f.from_7d) as settled_7d,
        count(*) filter (where s.block_time > f.from_7d and s.verified) as verified_7d,
        sum(s.inferences) filter (where s.block_time > f.from_7d and s.kind = 'batch') as batch_7d,
        sum(s.inferences) filter (where s.block_time > f.from_7d and s.kind = 'individual')
            as individual_7d,
        sum(s.inferences) filter (where s.block_time > f.from_7d and s.kind like 'legacy%')
            as legacy_7d,
        sum(s.inferences) filter (where s.block_time > f.from_30d) as settled_30d,
        count(*) filter (where s.block_time > f.from_30d and s.verified) as verified_30d,
        sum(s.inferences) filter (where s.block_time > f.from_30d and s.kind = 'batch')
            as batch_30d,
        sum(s.inferences) filter (where s.block_time > f.from_30d and s.kind = 'individual')
            as individual_30d,
        sum(s.inferences) filter (where s.block_time > f.from_30d and s.kind like 'legacy%')
            as legacy_30d,
        sum(s.inferences) as settled_all,
        count(*) filter (where s.verified) as verified_all,
        sum(s.inferences) filter (where s.kind = 'batch') as batch_all,
        sum(s.inferences) filter (where s.kind = 'individual') as individual_all,
        sum(s.inferences) filter (where s.kind like 'legacy%') as legacy_all
    from og.trusted_settlements s
    cross join (select
                    (select w.inference_from from og.windows w where w."window" = '7d') as from_7d,
                    (select w.inference_from from og.windows w where w."window" = '30d')
                        as from_30d) f
),
settled as (
    select x.*
    from settled_all a
    cross join lateral (values
        ('7d', a.settled_7d, a.verified_7d, a.batch_7d, a.individual_7d, a.legacy_7d),
        ('30d', a.settled_30d, a.verified_30d, a.batch_30d, a.individual_30d, a.legacy_30d),
        ('all', a.settled_all, a.verified_all, a.batch_all, a.individual_all, a.legacy_all)
    ) as x ("window", settled_inferences, verified_inferences, batch_inferences,
            individual_inferences, legacy_inferences)
),
legacy_all as (
    select
        count(*) filter (where i.block_time > f.from_7d) as n_7d,
        count(*) filter (where i.block_time > f.from_7d and i.verified) as verified_7d,
        count(*) filter (where i.block_time > f.from_30d) as n_30d,
        count(*) filter (where i.block_time > f.from_30d and i.verified) as verified_30d,
        count(*) as n_all,
        count(*) filter (where i.verified) as verified_all
    from og.legacy_path_inferences i
    cross join (select
                    (select w.inference_from from og.windows w where w."window" = '7d') as from_7d,
                    (select w.inference_from from og.windows w where w."window" = '30d')
                        as from_30d) f
),
legacy_path as (
    select x.*
    from legacy_all a
    cross join lateral (values ('7d', a.n_7d, a.verified_7d),
                               ('30d', a.n_30d, a.verified_30d),
                               ('all', a.n_all, a.verified_all))
        as x ("window", legacy_path_inferences, legacy_path_verified_inferences)
)
select
    w."window",
    w.payments_head_at,
    w.inference_head_at,
    coalesce(p.payments, 0) as payments,
    coalesce(p.payers, 0) as payers,
    coalesce(p.new_payers, 0) as new_payers,
    coalesce(p.returning_payers, 0) as returning_payers,
    coalesce(p.revenue_opg, 0) as revenue_opg,
    coalesce(s.settled_inferences, 0) as settled_inferences,
    coalesce(s.verified_inferences, 0) as verified_inferences,
    s.verified_inferences / nullif(s.settled_inferences, 0) as verified_share,
    coalesce(s.batch_inferences, 0) as batch_inferences,
    coalesce(s.individual_inferences, 0) as individual_inferences,
    coalesce(s.legacy_inferences, 0) as legacy_inferences,
    coalesce(l.legacy_path_inferences, 0) as legacy_path_inferences,
    coalesce(l.legacy_path_verified_inferences, 0) as legacy_path_verified_inferences
from og.windows w
left join pay p on p."window" = w."window"
left join settled s on s."window" = w."window"
left join legacy_path l on l."window" = w."window"
order by w.ord;

comment on view og.window_summary is
    'One row per window (7d, 30d, all): x402 payments, payers (new, returning), revenue in OPG, '
    'and trusted settled / verified inferences by kind, each anchored at its own chain head.';
