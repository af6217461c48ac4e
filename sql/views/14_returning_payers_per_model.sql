-- og.returning_payers_per_model: one row per og.model_usage row (model, attribution).
-- Payer figures exist only where the chain names both model and payer: attribution
-- 'legacy_inference' (payer = tx.from of the legacy inference). For 'settlement_metadata',
-- 'walrus_payload' (Walrus payloads name no payer) and 'unattributed' rows payers, returning_payers, returning_share and repeat_inferences are NULL
-- (unknowable from chain data), and `inferences` shows how much volume that leaves uncovered.
-- returning_payers: payers who used the model on at least two distinct UTC days;
-- repeat_inferences: inferences by payers on days after their first UTC day on that model.
create or replace view og.returning_payers_per_model as
with names as materialized (
    -- Normalise each distinct raw name once, not once per row.
    select n.model_raw, og.normalize_model(n.model_raw) as model
    from (select distinct i.model as model_raw from og.inferences i where i.model is not null) n
),
payer_days as (
    select n.model, i.payer, (i.block_time at time zone 'UTC')::date as day, count(*) as n
    from og.inferences i
    join names n on n.model_raw = i.model
    where n.model is not null
    group by 1, 2, 3
),
payer_days_first as (
    select d.*, min(d.day) over (partition by d.model, d.payer) as first_day
    from payer_days d
),
per_payer as (
    select
        f.model,
        f.payer,
        count(*) as days,
        coalesce(sum(f.n) filter (where f.day > f.first_day), 0) as repeat_inferences
    from payer_days_first f
    group by 1, 2
),
per_model as (
    select
        pp.model,
        count(*) as payers,
        count(*) filter (where pp.days >= 2) as returning_payers,
        sum(pp.repeat_inferences) as repeat_inferences
    from per_payer pp
    group by 1
)
select
    u.model,
    u.attribution,
    u.inferences,
    pm.payers,
    pm.returning_payers,
    pm.returning_payers::numeric / nullif(pm.payers, 0) as returning_share,
    pm.repeat_inferences
from og.model_usage u
left join per_model pm on u.attribution = 'legacy_inference' and pm.model = u.model
order by u.model nulls last, u.attribution;

comment on view og.returning_payers_per_model is
    'One row per (model, attribution): payers, payers returning on >= 2 UTC days, their share, and '
    'inferences after a payer''s first day on the model. Payer figures only for legacy_inference '
    'rows.';
