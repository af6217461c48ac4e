-- og.legacy_path_inferences: one row per legacy-path inference (internal: a building block of the
-- demand views, not a report of its own). Every column of og.inferences (the alpha
-- precompile/hub/workflow path, not relay settlements), and:
-- verified: run in TEE or ZKML mode (mode_name); NULL counts as not verified. These are reported
-- in the views' own legacy_path_* columns, never mixed into settled/verified settlements.
-- This is the one place that defines a verified legacy-path inference.
create or replace view og.legacy_path_inferences as
select i.*, i.mode_name in ('TEE', 'ZKML') as verified
from og.inferences i;

comment on view og.legacy_path_inferences is
    'Internal (read by the demand views): og.inferences rows (the legacy precompile/hub/workflow '
    'path), every column, and verified (run in TEE or ZKML mode).';
