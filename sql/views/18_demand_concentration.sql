-- og.demand_concentration: one row per window ('7d', '30d', 'all'), always three rows.
-- Over x402 payments in the window (rolling, ending at the latest indexed Base block time):
-- payers, revenue_opg, top1_share / top10_share = share of revenue paid by the largest 1 / 10
-- payers, hhi = Herfindahl-Hirschman index of payer revenue shares on a 0-1 scale (1 = one payer;
-- multiply by 10 000 for the antitrust convention). Shares are NULL when the window's revenue is 0.
-- Caveat: a payer is a wallet; one application relaying for many users is one payer, so real
-- end-user demand may be less concentrated than it looks, never more visible.
create or replace view og.demand_concentration as
with per_payer as (
    select x."window", ps.payer, x.amount
    from og.payer_stats ps
    cross join lateral (values ('7d', ps.payments_7d, ps.total_opg_7d),
                               ('30d', ps.payments_30d, ps.total_opg_30d),
                               ('all', ps.payments, ps.total_opg)) as x ("window", payments, amount)
    where x.payments > 0
),
ranked as (
    select
        p.*,
        row_number() over (partition by p."window" order by p.amount desc, p.payer) as rank,
        sum(p.amount) over (partition by p."window") as total
    from per_payer p
)
select
    w."window",
    count(r.payer) as payers,
    coalesce(sum(r.amount), 0) as revenue_opg,
    max(r.amount) filter (where r.rank = 1) / nullif(max(r.total), 0) as top1_share,
    sum(r.amount) filter (where r.rank <= 10) / nullif(max(r.total), 0) as top10_share,
    case when max(r.total) > 0 then sum((r.amount / r.total) ^ 2) end as hhi
from og.windows w
left join ranked r on r."window" = w."window"
group by w.ord, w."window"
order by w.ord;

comment on view og.demand_concentration is
    'One row per window (7d, 30d, all; anchored at the Base head): payers, revenue in OPG, top-1 '
    'and top-10 payer revenue shares and the HHI (0-1) of payer revenue shares.';
