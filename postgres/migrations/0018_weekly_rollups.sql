-- The delay reports' rollups by week (issue 7): a year of report_rollups at a million
-- cases is half a million rows, one per day × measure × holder × category × channel ×
-- kind, and a report read all of them. report_rollups_weekly holds the same facts by
-- Athens week without channel and kind, at most one row per week and group however
-- many cases there are; a report with no channel or kind filter reads its whole weeks
-- here and only the days of the partial weeks at its ends from report_rollups.
--
-- Same columns and meaning as report_rollups, except: day is the Monday of the week,
-- channel and kind are always ''. Kept in the transaction that writes report_rollups
-- (SubmitCase, RecordTransition); RebuildRollups rebuilds both; Migrate fills it from
-- report_rollups in this migration's transaction (fillWeeklyRollups).
CREATE TABLE report_rollups_weekly (LIKE report_rollups INCLUDING DEFAULTS);
ALTER TABLE report_rollups_weekly ADD PRIMARY KEY (day, measure, service_id, employee_id, category_code, channel, kind),
    ADD CHECK (channel = '' AND kind = '' AND extract(isodow FROM day) = 1);
