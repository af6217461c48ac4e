-- og.catalog_vs_usage: exactly one row comparing the catalog (og.models) with on-chain usage.
-- used_models: distinct normalised models with at least one attributed inference (any attribution
-- of og.model_usage, walrus_payload included; all time); active_models_7d / _30d: used models with an inference in the rolling window ending at
-- the inference chain's latest indexed block time; listed_never_used: listed keys with no
-- attributed inference ever; used_not_listed: used keys missing from og.models;
-- active_share_30d = listed models active in 30d / listed models (NULL when nothing is listed);
-- attributed_share = attributed inferences / all settled-or-legacy inferences (NULL when none):
-- the coverage of every per-model figure (it rises by exactly the individual settlements whose
-- Walrus payload is stored and consistent). Caveat: a listed model "never used" may well be used
-- through batch or private settlement, or an individual one whose payload is not stored.
create or replace view og.catalog_vs_usage as
with usage as materialized (
    select u.model, u.inferences, u.inferences_7d, u.inferences_30d
    from og.model_usage u
),
used as (
    select
        u.model,
        sum(u.inferences_7d) > 0 as active_7d,
        sum(u.inferences_30d) > 0 as active_30d
    from usage u
    where u.model is not null
    group by u.model
),
volume as (
    select
        sum(u.inferences) filter (where u.model is not null) as attributed,
        sum(u.inferences) as total
    from usage u
)
select
    (select count(*) from og.models) as listed_models,
    (select count(*) from used) as used_models,
    (select count(*) from used where active_7d) as active_models_7d,
    (select count(*) from used where active_30d) as active_models_30d,
    (select count(*) from og.models c
      where not exists (select 1 from used x where x.model = c.model_key)) as listed_never_used,
    (select count(*) from used x
      where not exists (select 1 from og.models c where c.model_key = x.model)) as used_not_listed,
    (select count(*) from og.models c join used x on x.model = c.model_key
      where x.active_30d)::numeric / nullif((select count(*) from og.models), 0)
        as active_share_30d,
    coalesce(v.attributed, 0) / nullif(v.total, 0) as attributed_share
from volume v;

comment on view og.catalog_vs_usage is
    'One row: listed models vs models named on-chain (used, active 7d/30d, listed never used, used '
    'not listed, active share of the catalog) and the share of inferences attributable to a model.';
