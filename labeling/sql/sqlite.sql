-- SQLite's own statements (see queries.sql for the format). Every write runs in the single writer thread
-- (labeling/sqlite_writer.py), which holds the database lock for its transaction, so plain
-- UPDATE ... RETURNING statements are atomic and a submit may take several statements.

-- name: projects.row_for_update
-- json: labels, options, label_styles
SELECT * FROM projects WHERE id = :project

-- name: projects.row_for_share
-- json: labels, options, label_styles
SELECT * FROM projects WHERE id = :project

-- name: queue.hold_reclaims
-- The single writer already runs one change at a time (PostgreSQL's takes reclaim_expired's lock).
SELECT 1

-- name: teams.row_for_update
SELECT id, name, owner_id, created_at FROM teams WHERE id = :team

-- name: teams.row_for_share
SELECT id, name, owner_id, created_at FROM teams WHERE id = :team

-- name: auth.user_for_update
SELECT id, username, role, is_active, created_at, token_hash FROM users WHERE id = :user

-- name: auth.user_for_session
SELECT password_hash, is_active FROM users WHERE id = :user

-- name: projects.label_used
-- Whether any answer, gold answer, prediction, review or consensus of the project names the label (as `label`, in
-- `labels`, or as the label of one of its `boxes` or `spans`): a label may leave a project only when none does.
WITH answers AS (
    SELECT answer FROM annotations WHERE project_id = :project
    UNION ALL SELECT gold FROM tasks WHERE project_id = :project AND gold IS NOT NULL
    UNION ALL SELECT predictions FROM tasks WHERE project_id = :project AND predictions IS NOT NULL
    UNION ALL SELECT answer FROM reviews WHERE project_id = :project AND answer IS NOT NULL
    UNION ALL SELECT answer FROM task_results WHERE project_id = :project AND answer IS NOT NULL
)
SELECT 1 FROM answers
WHERE json_extract(answer, '$.label') = :label
   OR EXISTS (SELECT 1 FROM json_each(answer, '$.labels') AS item WHERE item.value = :label)
   OR EXISTS (SELECT 1 FROM json_each(answer, '$.boxes') AS item WHERE json_extract(item.value, '$.label') = :label)
   OR EXISTS (SELECT 1 FROM json_each(answer, '$.spans') AS item WHERE json_extract(item.value, '$.label') = :label)
LIMIT 1

-- name: tasks.external_ids_taken
-- json_params: ids
-- The first of up to 1,000 external ids (a JSON array) already in the project.
SELECT external_id FROM tasks
WHERE project_id = :project AND external_id IN (SELECT value FROM json_each(:ids)) LIMIT 1

-- name: tasks.hold_external_ids
-- The single writer already keeps two imports apart: nothing to hold.
SELECT 1

-- name: queue.upsert_recomputed
-- json_params: answer, details
-- As PostgreSQL's: none for a task deleted since the recompute read its answers.
INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, updated_at)
SELECT :task, :project, :answer, :confidence, :n, :method, :details, :now FROM tasks WHERE id = :task
ON CONFLICT (task_id) DO UPDATE SET answer = excluded.answer, confidence = excluded.confidence,
    n_annotations = excluded.n_annotations, method = excluded.method, details = excluded.details,
    updated_at = excluded.updated_at
WHERE task_results.updated_at <= :read_at

-- name: queue.reclaim_expired
UPDATE assignments SET status = 3 /*expired*/, finished_at = :now
WHERE project_id = :project AND status = 0 /*leased*/ AND expires_at <= :now
RETURNING task_id

-- name: queue.new_worker_row
-- A worker's standing row in a project, made at their first claim (or a block before it); no row when the project
-- is gone (PostgreSQL's waits for a deletion in progress; here the single writer has run it already).
INSERT INTO project_workers (project_id, worker_id, n_claims, n_annotations, n_skips, n_gold,
                             gold_score_sum, blocked, updated_at)
SELECT p.id, :worker, 0, 0, 0, 0, 0, false, :now FROM projects p WHERE p.id = :project
ON CONFLICT (project_id, worker_id) DO UPDATE SET updated_at = excluded.updated_at
RETURNING n_claims, n_gold, gold_score_sum, blocked, skill

-- name: queue.worker_active
SELECT is_active FROM users WHERE id = :worker

-- name: queue.claim_regular
-- json: data, predictions
-- The next task a worker should get: partly done first, then priority, then import order (ix_tasks_queue),
-- never one the worker already had; its lease is counted in the same statement.
UPDATE tasks SET n_leased = n_leased + 1 WHERE id = (
    SELECT t.id FROM tasks t
    WHERE t.project_id = :project AND t.is_gold = false AND t.state = 0 /*open*/
      AND t.n_done + t.n_leased < t.needed
      AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = :worker)
    ORDER BY t.n_done DESC, t.priority DESC, t.id LIMIT 1)
RETURNING id, data, predictions

-- name: queue.claim_gold
-- json: data, predictions
-- Gold checks have no redundancy cap: every worker may see each one once, in a per-worker order. The ids are
-- reduced before they are multiplied: a restored dump's ids may be near 2**63 (PostgreSQL refused the product).
UPDATE tasks SET n_leased = n_leased + 1 WHERE id = (
    SELECT t.id FROM tasks t
    WHERE t.project_id = :project AND t.is_gold = true AND t.state = 0 /*open*/
      AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = :worker)
      -- Gold mixed into the work (gold_fraction, not the first gold_first_n) comes only while the worker has
      -- regular work left: none once theirs is done, so "no more tasks" stays so.
      AND (NOT :mixed OR EXISTS (
           SELECT 1 FROM tasks r
           WHERE r.project_id = :project AND r.is_gold = false AND r.state = 0 /*open*/
             AND r.n_done + r.n_leased < r.needed
             AND NOT EXISTS (SELECT 1 FROM assignments g WHERE g.task_id = r.id AND g.worker_id = :worker)))
    ORDER BY ((t.id % 1000003) * 7919 + (:worker % 1000003) * 104729) % 1000003 LIMIT 1)
RETURNING id, data, predictions

-- name: queue.lock_task
-- The single writer already excludes every other change: a plain read.
SELECT id FROM tasks WHERE id = :task

-- name: queue.close_lease_submitted
-- Only the worker's live lease, on the task and project version the answer was checked against.
UPDATE assignments SET status = 1 /*submitted*/, finished_at = :now
WHERE id = :assignment AND worker_id = :worker AND task_id = :task AND status = 0 /*leased*/ AND expires_at > :now
  AND EXISTS (SELECT 1 FROM projects p WHERE p.id = :project AND p.updated_at = :version)

-- name: queue.insert_annotation
-- json_params: answer, meta
INSERT INTO annotations (project_id, task_id, worker_id, assignment_id, answer, is_gold, gold_score,
                         excluded, idempotency_key, duration_ms, meta, created_at)
VALUES (:project, :task, :worker, :assignment, :answer, :is_gold, :gold_score, :excluded, :key, :duration, :meta,
        :now)
RETURNING id

-- name: queue.task_lease_done
UPDATE tasks SET n_leased = n_leased - 1, n_done = n_done + :counted WHERE id = :task
RETURNING n_done, needed, state

-- name: queue.count_annotation
UPDATE project_workers SET n_annotations = n_annotations + 1, n_gold = n_gold + :gold,
       gold_score_sum = gold_score_sum + :score, updated_at = :now
WHERE project_id = :project AND worker_id = :worker
RETURNING n_gold, gold_score_sum, blocked

-- name: queue.complete_task
-- A settle changes the task only as it read and aggregated it: still open, still wanting `needed`, with all
-- of those answers in and exactly the `answers` counted that went into the result. A settle that raced a
-- blocked worker's answers leaving, or another settle, changes nothing.
UPDATE tasks SET state = 1 /*complete*/
WHERE id = :task AND state = 0 /*open*/ AND needed = :needed AND n_done >= needed AND n_done = :answers

-- name: queue.one_more_answer
-- Adaptive redundancy: not confident enough yet, one more answer wanted (guarded as queue.complete_task).
UPDATE tasks SET needed = needed + 1
WHERE id = :task AND state = 0 /*open*/ AND needed = :needed AND n_done >= needed AND n_done = :answers

-- name: export.data_keys
-- Every data field of a project's tasks (a CSV export's header).
SELECT DISTINCT j.key FROM tasks t, json_each(t.data) j WHERE t.project_id = :project

-- name: queue.tick_changes
-- A new change number (tasks.change_id) for the tasks an import inserts next, all of them at once: migration 0013's
-- trigger would take one per task (a quarter of an import's time).
INSERT INTO change_clock (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1

-- name: export.restored
-- The first change number of the database as it was last restored (labeling restore): a cursor below it was given
-- before the restore, by the database the backup or dump replaced (change_clock's row 2; none: never restored).
SELECT n FROM change_clock WHERE id = 2

-- name: restore.mark_changes
-- After a restore: the change numbers jump past any the replaced database (or the one the backup was taken from)
-- can have given (2^32 on, and at least the time in microseconds, where migration 0013 starts a clock), and where
-- they now start is kept, so that a pull with a cursor given before the restore is refused, not answered with the
-- changes after it alone (the restore's own are not stamped).
INSERT INTO change_clock (id, n) VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER))
ON CONFLICT (id) DO UPDATE SET n = max(n + 4294967296, excluded.n)

-- name: restore.mark_changes_start
INSERT INTO change_clock (id, n) SELECT 2, n + 1 FROM change_clock WHERE id = 1 ON CONFLICT (id) DO UPDATE SET n = excluded.n

-- name: export.cursor
-- The export's snapshot as the next pull's cursor: the last change number (tasks.change_id) committed before it.
-- The single writer numbers changes in commit order, so every number up to it is seen and none after.
SELECT n FROM change_clock WHERE id = 1

-- name: membership.users_by_ids
-- json_params: ids
-- Up to 1,000 users by id (a JSON array).
SELECT id, username, role FROM users WHERE id IN (SELECT value FROM json_each(:ids))

-- name: membership.users_by_names
-- json_params: names
SELECT id, username, role FROM users WHERE username IN (SELECT value FROM json_each(:names))

-- name: restore.task_data
-- json_params: ids
-- json: data
-- The data of restored tasks by id (a JSON array), to check the answers to them against their task type.
SELECT id, project_id, data FROM tasks WHERE id IN (SELECT value FROM json_each(:ids))

-- name: queue.tasks_in
-- json_params: ids
-- Up to 1,000 of a project's tasks by id (a JSON array), with what deleting them takes from the counters.
SELECT id, is_gold, state FROM tasks WHERE project_id = :project AND id IN (SELECT value FROM json_each(:ids))

-- name: queue.answer_tallies_of_tasks
-- json_params: ids
-- Per worker, the answers, gold answers, gold score, skips and claims that these tasks counted.
SELECT w.worker_id,
       (SELECT count(*) FROM annotations a WHERE a.worker_id = w.worker_id
            AND a.task_id IN (SELECT value FROM json_each(:ids))) AS n_annotations,
       (SELECT count(*) FROM annotations a WHERE a.worker_id = w.worker_id AND a.gold_score IS NOT NULL
            AND a.task_id IN (SELECT value FROM json_each(:ids))) AS n_gold,
       (SELECT coalesce(sum(a.gold_score), 0) FROM annotations a WHERE a.worker_id = w.worker_id
            AND a.task_id IN (SELECT value FROM json_each(:ids))) AS score,
       (SELECT count(*) FROM assignments s WHERE s.worker_id = w.worker_id AND s.status = 2 /*skipped*/
            AND s.task_id IN (SELECT value FROM json_each(:ids))) AS n_skips,
       (SELECT count(*) FROM assignments s WHERE s.worker_id = w.worker_id AND s.task_id IN (SELECT value FROM json_each(:ids))) AS n_claims
FROM (SELECT DISTINCT worker_id FROM assignments WHERE task_id IN (SELECT value FROM json_each(:ids))) w

-- name: queue.record_deletions
-- json_params: ids
-- The tasks about to be deleted, for incremental pulls (`--format deletions`): a deleted task leaves no row.
INSERT INTO task_deletions (project_id, task_id, external_id, deleted_at)
SELECT project_id, id, external_id, :now FROM tasks WHERE project_id = :project AND id IN (SELECT value FROM json_each(:ids))

-- name: queue.delete_tasks
-- json_params: ids
-- Their leases, answers and results go with them (foreign keys ON DELETE CASCADE).
DELETE FROM tasks WHERE project_id = :project AND id IN (SELECT value FROM json_each(:ids))

-- name: tasks.ids_by_external
-- json_params: ids
SELECT id, external_id FROM tasks
WHERE project_id = :project AND external_id IN (SELECT value FROM json_each(:ids))

-- ---- media ----------------------------------------------------------------------------------------------------

-- name: media.shown
-- json_params: hashes
-- Which of up to 1,000 files (their path_hash, a JSON array) some project's tasks show, and whether a project of
-- this owner is among them.
SELECT pm.path_hash, max(p.owner_id = :owner) AS by_owner
FROM project_media pm JOIN projects p ON p.id = pm.project_id
WHERE pm.path_hash IN (SELECT value FROM json_each(:hashes)) GROUP BY pm.path_hash

-- name: media.hold_uploads
-- The single writer already keeps an import and a removal of unused uploads apart: nothing to hold.
SELECT 1

-- name: media.hold_uploads_for_removal
-- As media.hold_uploads.
SELECT 1
