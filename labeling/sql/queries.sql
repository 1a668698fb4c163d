-- Every statement both databases run, named. A dialect's own statements are in sqlite.sql and postgresql.sql;
-- a name is defined once for each dialect. Read by labeling/sqltx.py (`load_queries`).
--
-- Format: `-- name: NAME` starts a statement; the comment lines right after it say what it is for, and
-- `-- json: col, ...` / `-- json_params: param, ...` name the result columns decoded from JSON and the parameters
-- encoded as JSON; `-- json_arrays: param, ...` (PostgreSQL) array parameters whose items are encoded as JSON.
-- Parameters are `:name` (psql: `\set name value`; sqlite3: `.param set :name value`).
-- Status and state values are written as the number followed by the name of its member in
-- labeling.models (`0 /*leased*/`); loading checks each against the enum, and refuses a bare number.
--
-- Statements named `queue.*` change the bookkeeping of the queue (task states and counters, assignments,
-- project counters, workers' standing, consensus results) and are run only by labeling/queue.py.

-- ---- projects -----------------------------------------------------------------------------------------

-- name: queue.project
-- json: labels, options, label_styles
-- The project row (the queue caches it per process by its version, updated_at).
SELECT * FROM projects WHERE id = :project

-- name: queue.project_version
SELECT updated_at FROM projects WHERE id = :project

-- name: projects.name_taken
-- Another project of the same owner with this name (names are unique per owner).
SELECT id FROM projects WHERE owner_id = :owner AND name = :name AND id <> :project

-- name: projects.insert
-- json_params: labels, options, label_styles
INSERT INTO projects (name, owner_id, task_type, labels, instructions, redundancy_min, redundancy_max,
                      target_confidence, lease_seconds, gold_first_n, gold_fraction, gold_min, gold_threshold,
                      options, label_styles, edit_window, edit_minutes, created_at, updated_at, status, pool_all)
VALUES (:name, :owner, :task_type, :labels, :instructions, :redundancy_min, :redundancy_max,
        :target_confidence, :lease_seconds, :gold_first_n, :gold_fraction, :gold_min, :gold_threshold,
        :options, :label_styles, :edit_window, :edit_minutes, :now, :now, :status, true)
RETURNING id

-- name: projects.update
-- json_params: labels, options, label_styles
-- Every setting and the status at once (the caller merges the changes into the row it read); updated_at is the
-- version the queue's statements and caches check, always moved forward (as projects.touch).
UPDATE projects SET name = :name, labels = :labels, instructions = :instructions,
       redundancy_min = :redundancy_min, redundancy_max = :redundancy_max, target_confidence = :target_confidence,
       lease_seconds = :lease_seconds, gold_first_n = :gold_first_n, gold_fraction = :gold_fraction,
       gold_min = :gold_min, gold_threshold = :gold_threshold, options = :options, label_styles = :label_styles,
       edit_window = :edit_window, edit_minutes = :edit_minutes, status = :status,
       updated_at = CASE WHEN :now > updated_at THEN :now ELSE updated_at + 0.001 END
WHERE id = :project

-- name: queue.init_counters
-- A project's first counter row: sums over the shards always find one.
INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, n_annotations, n_skips)
VALUES (:project, 0, 0, 0, 0, 0, 0)

-- name: queue.add_counts
-- Add to a project's progress counters (the shard spreads concurrent writers over rows).
INSERT INTO project_counters (project_id, shard, n_tasks, n_gold_tasks, n_complete, n_annotations, n_skips)
VALUES (:project, :shard, :n_tasks, :n_gold_tasks, :n_complete, :n_annotations, :n_skips)
ON CONFLICT (project_id, shard) DO UPDATE SET
    n_tasks = project_counters.n_tasks + excluded.n_tasks,
    n_gold_tasks = project_counters.n_gold_tasks + excluded.n_gold_tasks,
    n_complete = project_counters.n_complete + excluded.n_complete,
    n_annotations = project_counters.n_annotations + excluded.n_annotations,
    n_skips = project_counters.n_skips + excluded.n_skips

-- name: queue.set_needed
-- Open regular tasks follow a project's new minimum redundancy.
UPDATE tasks SET needed = :needed
WHERE project_id = :project AND state = 0 /*open*/ AND is_gold = false

-- name: queue.cap_needed
-- Open regular tasks wanting more answers than a project's new, lower maximum want that many (the same minimum:
-- what adaptive redundancy or a requester's more-answers asked of the others stands).
UPDATE tasks SET needed = :needed
WHERE project_id = :project AND state = 0 /*open*/ AND is_gold = false AND needed > :needed

-- name: queue.expire_surplus_leases
-- After a lower redundancy (and the settle of the tasks it made ready), a regular task that is complete, or open
-- with live leases beyond the answers it still wants, hands those back (their submits answer "expired", as after an
-- override), so no task collects more answers than it needs. The leases already past their time go first, then
-- the newest. All of a project's tasks, or one (:task, whose answer counts again: a replacement lease it no longer
-- wants goes back).
UPDATE assignments SET status = 3 /*expired*/, finished_at = :now
WHERE id IN (
    SELECT ranked.id FROM (
        SELECT s.id,
               CASE WHEN t.state = 1 /*complete*/ THEN t.n_leased ELSE t.n_done + t.n_leased - t.needed END AS surplus,
               row_number() OVER (PARTITION BY s.task_id
                                  ORDER BY CASE WHEN s.expires_at <= :now THEN 0 ELSE 1 END, s.id DESC) AS place
        FROM assignments s JOIN tasks t ON t.id = s.task_id
        WHERE s.project_id = :project AND (CAST(:task AS BIGINT) IS NULL OR s.task_id = :task)
          AND s.status = 0 /*leased*/ AND t.is_gold = false
          AND (t.state = 1 /*complete*/ OR t.n_done + t.n_leased > t.needed)) ranked
    WHERE ranked.place <= ranked.surplus)
  AND status = 0 /*leased*/  -- again: a lease another transaction expired meanwhile is not taken off twice
RETURNING task_id

-- ---- users ---------------------------------------------------------------------------------------------

-- name: auth.user_id_by_name
SELECT id FROM users WHERE username = :username

-- name: auth.user_by_token_hash
SELECT id, username, role, is_active FROM users WHERE token_hash = :token_hash

-- name: auth.user_by_name
SELECT id, username, role, is_active, token_hash FROM users WHERE username = :username

-- name: auth.user
SELECT id, username, role, is_active, created_at FROM users WHERE id = :user

-- name: auth.insert_user
INSERT INTO users (username, role, password_hash, token_hash, is_active, created_at)
VALUES (:username, :role, :password_hash, :token_hash, true, :now)
RETURNING id

-- name: auth.set_token
UPDATE users SET token_hash = :token_hash WHERE id = :user

-- name: auth.set_password
UPDATE users SET password_hash = :password_hash WHERE id = :user

-- name: auth.set_active
UPDATE users SET is_active = :active WHERE id = :user

-- name: auth.bump_epoch
-- Every server process re-reads this number every few seconds and forgets the credentials it remembers when it
-- moved (labeling/web.py). The row is made if missing (a database emptied table by table).
INSERT INTO auth_epoch (id, epoch) VALUES (1, 1)
ON CONFLICT (id) DO UPDATE SET epoch = auth_epoch.epoch + 1

-- name: auth.insert_session
INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (:token_hash, :user, :now, :expires)

-- name: auth.delete_session
DELETE FROM sessions WHERE token_hash = :token_hash

-- name: auth.delete_user_sessions
DELETE FROM sessions WHERE user_id = :user

-- name: auth.delete_expired_sessions
DELETE FROM sessions WHERE expires_at <= :now

-- ---- tasks ---------------------------------------------------------------------------------------------

-- name: queue.insert_task
-- json_params: data, gold, predictions
-- Stamped with the change number queue.tick_changes just took (SQLite; migration 0013's trigger stamps a task
-- inserted without one, and PostgreSQL's stamps every task as it is inserted).
INSERT INTO tasks (project_id, data, gold, predictions, is_gold, priority, external_id, source_key, state, needed,
                   n_done, n_leased, created_at, changed_at, change_id)
VALUES (:project, :data, :gold, :predictions, :is_gold, :priority, :external_id, :source_key, 0 /*open*/, :needed,
        0, 0, :now, :now, COALESCE((SELECT n FROM change_clock WHERE id = 1), 0))

-- name: queue.task_payload
-- json: data, predictions
SELECT id, data, predictions FROM tasks WHERE id = :task

-- ---- claims ----------------------------------------------------------------------------------------------

-- name: queue.claim_state
-- What a claim needs to know, in one read: the project's version, the worker's standing (NULLs before the
-- worker's first claim here), every live lease of the worker in any project (a handful at most: the one in
-- this project is handed back, their number is checked against the cap), and the project's earliest lease
-- expiry, so the expired-lease sweep runs only when something can have expired. And whether the worker's account
-- is still active: a request signed in before a deactivation (or in a process that still remembers the token as
-- active) leases nothing after it.
SELECT p.updated_at AS version,
       (SELECT min(e.expires_at) FROM assignments e WHERE e.project_id = :project AND e.status = 0 /*leased*/)
           AS next_expiry,
       (SELECT u.is_active FROM users u WHERE u.id = :worker) AS worker_active,
       pw.n_claims, pw.blocked, a.id AS lease_id, a.project_id AS lease_project, a.task_id AS lease_task,
       a.expires_at AS lease_expires
FROM projects p
LEFT JOIN project_workers pw ON pw.project_id = p.id AND pw.worker_id = :worker
LEFT JOIN assignments a ON a.worker_id = :worker AND a.status = 0 /*leased*/ AND a.expires_at > :now
WHERE p.id = :project ORDER BY a.id

-- name: queue.worker_row
-- A worker's standing in a project; a read in the common case (the row is made on the first claim).
SELECT n_claims, n_gold, gold_score_sum, blocked, skill FROM project_workers
WHERE project_id = :project AND worker_id = :worker

-- name: queue.lease_dropped
UPDATE tasks SET n_leased = n_leased - 1 WHERE id = :task

-- name: queue.claim_task
-- json: data, predictions
-- One named task, leased again to the worker who just handed it back (the labeling page reloaded): only while
-- it is open, wants answers (gold tasks have no cap) and the worker holds no assignment of it.
UPDATE tasks SET n_leased = n_leased + 1
WHERE id = :task AND project_id = :project AND state = 0 /*open*/ AND (is_gold = true OR n_done + n_leased < needed)
  AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = :task AND a.worker_id = :worker)
RETURNING id, data, predictions, is_gold

-- name: queue.insert_lease
INSERT INTO assignments (project_id, task_id, worker_id, status, is_gold, created_at, expires_at)
VALUES (:project, :task, :worker, 0 /*leased*/, :is_gold, :now, :expires)
RETURNING id

-- name: queue.count_claim
-- Only while the worker is not blocked here: a claim that read its standing before a block (which moves no project
-- version) counts nothing, and leases nothing.
UPDATE project_workers SET n_claims = n_claims + 1 WHERE project_id = :project AND worker_id = :worker AND NOT blocked

-- ---- an assignment and its lease --------------------------------------------------------------------------

-- name: queue.assignment
-- json: data, gold
-- The assignment with everything a submit, skip, release or renew reads: its project's version, the worker's
-- standing and the task's data and gold answer.
SELECT a.id, a.project_id, a.task_id, a.worker_id, a.status, a.is_gold, a.expires_at, pw.blocked,
       p.updated_at AS version, t.id AS task_found, t.data, t.gold
FROM assignments a JOIN projects p ON p.id = a.project_id
LEFT JOIN project_workers pw ON pw.project_id = a.project_id AND pw.worker_id = a.worker_id
LEFT JOIN tasks t ON t.id = a.task_id
WHERE a.id = :assignment

-- name: queue.annotation_for_assignment
SELECT id, task_id, assignment_id, idempotency_key, created_at FROM annotations WHERE assignment_id = :assignment

-- name: queue.close_lease_skipped
-- State changes are refused here unless the lease is still the worker's. The reason (and the worker's words)
-- are kept for the requester.
UPDATE assignments SET status = 2 /*skipped*/, finished_at = :now, skip_reason = :reason, skip_note = :note
WHERE id = :assignment AND worker_id = :worker AND status = 0 /*leased*/

-- name: queue.count_skip
UPDATE project_workers SET n_skips = n_skips + 1, updated_at = :now
WHERE project_id = :project AND worker_id = :worker

-- name: queue.delete_lease
DELETE FROM assignments WHERE id = :assignment AND worker_id = :worker AND status = 0 /*leased*/

-- name: queue.uncount_claim
-- A released lease was never taken: its claim leaves the worker's count, so a gold qualification (the first
-- gold_first_n claims) still serves as many gold tasks, the released one included.
UPDATE project_workers SET n_claims = n_claims - 1 WHERE project_id = :project AND worker_id = :worker AND n_claims > 0

-- name: queue.uncount_claims
-- Leases given back all at once (a deactivated worker's, an archived project's), as if each was released.
UPDATE project_workers SET n_claims = CASE WHEN n_claims >= :n THEN n_claims - :n ELSE 0 END
WHERE project_id = :project AND worker_id = :worker

-- name: queue.extend_lease
UPDATE assignments SET status = 0 /*leased*/, expires_at = :expires, finished_at = NULL
WHERE id = :assignment AND worker_id = :worker AND status IN (0 /*leased*/, 3 /*expired*/)

-- name: queue.task_relet
-- An expired lease taken back: only while the task still wants the answer (gold tasks have no cap).
UPDATE tasks SET n_leased = n_leased + 1
WHERE id = :task AND state = 0 /*open*/ AND (is_gold = true OR n_done + n_leased < needed)

-- ---- a changed answer --------------------------------------------------------------------------------------

-- name: queue.answer_to_change
-- json: data, gold
-- A worker's answer with what changing it needs: the task's state and counts (its row is locked first by
-- queue.lock_task), the project's version and the worker's standing; for a gold answer, its rank among the task's
-- counted answers (annotations.GoldPlace).
SELECT a.id, a.project_id, a.task_id, a.worker_id, a.is_gold, a.gold_score, a.excluded, a.created_at,
       t.state, t.n_done, t.needed, t.data, t.gold, p.updated_at AS version, pw.blocked,
       CASE WHEN a.is_gold THEN (SELECT count(*) FROM annotations r
                                 WHERE r.task_id = a.task_id AND r.id <= a.id AND r.excluded = false) END AS gold_rank
FROM annotations a JOIN tasks t ON t.id = a.task_id JOIN projects p ON p.id = a.project_id
LEFT JOIN project_workers pw ON pw.project_id = a.project_id AND pw.worker_id = a.worker_id
WHERE a.id = :annotation

-- name: queue.change_answer
-- json_params: answer, meta
-- A gold answer keeps its score (and the worker's gold tally) from the answer first given.
UPDATE annotations SET answer = :answer, meta = :meta, edited_at = :now
WHERE id = :annotation AND worker_id = :worker

-- ---- settling a task ---------------------------------------------------------------------------------------

-- name: queue.task_answers
-- json: answer
-- A task's counted answers with what is known of each worker's skill, for its consensus.
SELECT a.worker_id, a.answer, pw.skill, pw.n_gold, pw.gold_score_sum
FROM annotations a LEFT JOIN project_workers pw ON pw.project_id = a.project_id AND pw.worker_id = a.worker_id
WHERE a.task_id = :task AND a.excluded = false ORDER BY a.id

-- name: queue.task_counts
SELECT n_done, needed, state FROM tasks WHERE id = :task

-- name: queue.tasks_ready
-- Open tasks that already have the answers they need (a project's redundancy went down, or a server stopped
-- between storing a task's last answer and settling it). Walks only the partly done front of ix_tasks_queue.
SELECT id FROM tasks
WHERE project_id = :project AND state = 0 /*open*/ AND is_gold = false AND n_done > 0 AND n_done >= needed
ORDER BY id

-- name: queue.workers_due_a_block
-- Workers whose gold accuracy is below the project's threshold (after at least its minimum of gold answers) and who
-- are not blocked: the block a gold answer calls for runs after the answer is stored, and one that failed there (a
-- deadlock, say) is made up by the sweep.
SELECT pw.worker_id, u.username FROM project_workers pw JOIN users u ON u.id = pw.worker_id
WHERE pw.project_id = :project AND NOT pw.blocked AND pw.n_gold > 0 AND pw.n_gold >= :gold_min
  AND pw.gold_score_sum / :threshold < pw.n_gold  -- accuracy below :threshold (above 0); written so that PostgreSQL
                                                 -- takes :threshold for a float, as the column it divides
ORDER BY pw.worker_id

-- name: queue.upsert_result
-- json_params: answer, details
INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, updated_at)
VALUES (:task, :project, :answer, :confidence, :n, :method, :details, :now)
ON CONFLICT (task_id) DO UPDATE SET answer = excluded.answer, confidence = excluded.confidence,
    n_annotations = excluded.n_annotations, method = excluded.method, details = excluded.details,
    updated_at = excluded.updated_at

-- name: queue.set_skill
UPDATE project_workers SET skill = :skill, agreement = :agreement WHERE project_id = :project AND worker_id = :worker

-- ---- blocking a worker ----------------------------------------------------------------------------------------

-- name: people.standing
-- Whether a user has a standing in the project (claimed, answered or was blocked there): who may be named as its
-- worker.
SELECT 1 AS found FROM project_workers WHERE project_id = :project AND worker_id = :worker

-- name: queue.block_worker
UPDATE project_workers SET blocked = true, updated_at = :now WHERE project_id = :project AND worker_id = :worker

-- name: queue.exclude_answers
-- A blocked worker's answers leave the consensus (gold answers stay: they are the evidence).
UPDATE annotations SET excluded = true
WHERE project_id = :project AND worker_id = :worker AND excluded = false AND is_gold = false
RETURNING task_id

-- name: queue.reopen_task
-- One answer fewer: the task is open again (queue.task_counts, read first, says whether it was complete).
UPDATE tasks SET n_done = n_done - 1, state = 0 /*open*/ WHERE id = :task

-- name: queue.drop_result
DELETE FROM task_results WHERE task_id = :task

-- name: queue.expire_live_leases
-- A blocked worker's live leases go back to the queue now rather than at expiry.
UPDATE assignments SET status = 3 /*expired*/, finished_at = :now
WHERE project_id = :project AND worker_id = :worker AND status = 0 /*leased*/
RETURNING task_id

-- ---- a requester's review of a task ----------------------------------------------------------------------------

-- name: queue.ask_more
-- One more answer wanted for this task (its requester asks): it is open again until it has it.
UPDATE tasks SET needed = needed + 1, state = 0 /*open*/ WHERE id = :task AND is_gold = false

-- name: queue.recheck_task
-- A complete task of an adaptive project that the project-wide consensus doubts (runner.doubted_tasks): one more
-- answer wanted, when its stored consensus is still the one that consensus compared (:stamp, its updated_at: a
-- settle since, after an answer came or left, writes a new one), it has the :n counted answers read, is under the
-- project's maximum and has no review from the requester.
UPDATE tasks SET needed = n_done + 1, state = 0 /*open*/
WHERE id = :task AND state = 1 /*complete*/ AND is_gold = false AND n_done = :n AND n_done < :max
  AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.task_id = :task)
  AND EXISTS (SELECT 1 FROM task_results r WHERE r.task_id = :task AND r.updated_at = :stamp)

-- name: queue.complete_reviewed
-- A requester's override settles an open regular task: it is complete with the answers it has, and asks for no
-- more.
UPDATE tasks SET state = 1 /*complete*/ WHERE id = :task AND state = 0 /*open*/ AND is_gold = false

-- name: queue.expire_task_leases
-- The live leases of a task that needs no more answers go back now (their submits answer "expired").
UPDATE assignments SET status = 3 /*expired*/, finished_at = :now WHERE task_id = :task AND status = 0 /*leased*/
RETURNING task_id

-- name: queue.exclude_answer
-- One answer leaves the task's consensus (its requester excludes it); gold answers are evidence, never counted.
UPDATE annotations SET excluded = true WHERE id = :annotation AND excluded = false AND is_gold = false

-- name: queue.include_answer
-- An excluded answer counts again (an exclusion undone).
UPDATE annotations SET excluded = false WHERE id = :annotation AND excluded = true AND is_gold = false

-- name: queue.count_answer_back
UPDATE tasks SET n_done = n_done + 1 WHERE id = :task

-- name: reviews.task
-- A task as a review needs it, with its stored consensus (if any) and its current review (if any).
-- json: data, result_answer
SELECT t.id, t.project_id, t.data, t.is_gold, t.state, t.n_done, t.needed, r.task_id AS result_task,
       r.answer AS result_answer, r.confidence, v.kind AS review_kind
FROM tasks t LEFT JOIN task_results r ON r.task_id = t.id LEFT JOIN reviews v ON v.task_id = t.id
WHERE t.id = :task

-- name: reviews.answer
-- One answer of a task, with its worker's standing in the project.
SELECT a.id, a.task_id, a.worker_id, a.is_gold, a.excluded, pw.blocked
FROM annotations a LEFT JOIN project_workers pw ON pw.project_id = a.project_id AND pw.worker_id = a.worker_id
WHERE a.id = :annotation

-- name: reviews.put
-- json_params: answer
-- A task's review, replacing the one it had.
INSERT INTO reviews (project_id, task_id, reviewer_id, kind, answer, created_at)
VALUES (:project, :task, :reviewer, :kind, :answer, :now)
ON CONFLICT (task_id) DO UPDATE SET reviewer_id = excluded.reviewer_id, kind = excluded.kind,
    answer = excluded.answer, created_at = excluded.created_at
RETURNING id

-- name: reviews.drop
DELETE FROM reviews WHERE task_id = :task

-- name: reviews.drop_accept
-- An acceptance is of the consensus as it was: when the task's answers change, it goes (an override stays).
DELETE FROM reviews WHERE task_id = :task AND kind = 'accept'

-- name: restore.insert_review
-- json_params: answer
INSERT INTO reviews (id, project_id, task_id, reviewer_id, kind, answer, created_at)
VALUES (:id, :project_id, :task_id, :reviewer_id, :kind, :answer, :created_at)

-- ---- problem reports -----------------------------------------------------------------------------------------

-- name: reports.count_for_assignment
SELECT count(*) FROM task_reports WHERE assignment_id = :assignment

-- name: reports.same_text
-- A report of this text on this assignment already stored: the request sent again (a retry), answered with it.
SELECT id, task_id, created_at FROM task_reports WHERE assignment_id = :assignment AND text = :text
ORDER BY id LIMIT 1

-- name: reports.insert
INSERT INTO task_reports (project_id, task_id, worker_id, assignment_id, text, created_at)
VALUES (:project, :task, :worker, :assignment, :text, :now)
RETURNING id

-- ---- restoring a dump (labeling/export/dump.py; bookkeeping rows through labeling/queue.py) ------------------
-- A dump's rows arrive whole, with their ids: the one case where bookkeeping rows are inserted as they are.
-- Their JSON parameters are encoded as every write's are (labeling/sqltx.py): the dump's floats stay floats.

-- name: restore.user_by_id
SELECT id, username FROM users WHERE id = :id

-- name: restore.insert_user
-- A restored account has neither password nor usable token (dumps carry no secrets): an admin sets them.
INSERT INTO users (id, username, role, password_hash, token_hash, is_active, created_at)
VALUES (:id, :username, :role, NULL, :token_hash, :is_active, :created_at)

-- name: restore.insert_new_user
INSERT INTO users (username, role, password_hash, token_hash, is_active, created_at)
VALUES (:username, :role, NULL, :token_hash, :is_active, :created_at)
RETURNING id

-- name: restore.project_taken
SELECT id, name FROM projects WHERE id = :id OR (name = :name AND owner_id = :owner)

-- name: restore.insert_project
-- json_params: labels, options, label_styles
INSERT INTO projects (id, name, owner_id, task_type, labels, instructions, redundancy_min, redundancy_max,
                      target_confidence, lease_seconds, gold_first_n, gold_fraction, gold_min, gold_threshold,
                      options, label_styles, edit_window, edit_minutes, created_at, updated_at, status, pool_all,
                      answer_correlation)
VALUES (:id, :name, :owner_id, :task_type, :labels, :instructions, :redundancy_min, :redundancy_max,
        :target_confidence, :lease_seconds, :gold_first_n, :gold_fraction, :gold_min, :gold_threshold,
        :options, :label_styles, :edit_window, :edit_minutes, :created_at, :updated_at, :status, :pool_all,
        :answer_correlation)

-- name: restore.team_by_name
SELECT id FROM teams WHERE owner_id = :owner_id AND name = :name

-- name: restore.team_by_id
SELECT id FROM teams WHERE id = :id

-- name: restore.insert_team
INSERT INTO teams (id, name, owner_id, created_at) VALUES (:id, :name, :owner_id, :created_at)

-- name: restore.insert_new_team
INSERT INTO teams (name, owner_id, created_at) VALUES (:name, :owner_id, :created_at)
RETURNING id

-- name: restore.insert_team_member
-- A member of a team that was already here may be one already.
INSERT INTO team_members (team_id, worker_id) VALUES (:team_id, :worker_id) ON CONFLICT DO NOTHING

-- name: restore.insert_pool_worker
INSERT INTO project_pool_workers (project_id, worker_id) VALUES (:project_id, :worker_id)

-- name: restore.insert_pool_team
INSERT INTO project_pool_teams (project_id, team_id) VALUES (:project_id, :team_id)

-- name: restore.insert_project_media
INSERT INTO project_media (path_hash, project_id, path) VALUES (:path_hash, :project_id, :path)

-- name: restore.insert_media
-- An image's recorded size; one this database has already recorded for the path stays.
INSERT INTO media (path, width, height, recorded_at) VALUES (:path, :width, :height, :recorded_at)
ON CONFLICT (path) DO NOTHING

-- name: restore.insert_task_report
INSERT INTO task_reports (id, project_id, task_id, worker_id, assignment_id, text, created_at)
VALUES (:id, :project_id, :task_id, :worker_id, :assignment_id, :text, :created_at)

-- name: restore.audit_id_taken
SELECT id FROM audit_log WHERE id = :id

-- name: restore.insert_audit
-- json_params: details
INSERT INTO audit_log (id, at, actor_id, actor, action, object_type, object_id, project_id, owner_id, details)
VALUES (:id, :at, :actor_id, :actor, :action, :object_type, :object_id, :project_id, :owner_id, :details)

-- name: restore.insert_new_audit
-- json_params: details
INSERT INTO audit_log (at, actor_id, actor, action, object_type, object_id, project_id, owner_id, details)
VALUES (:at, :actor_id, :actor, :action, :object_type, :object_id, :project_id, :owner_id, :details)

-- name: queue.restore_task
-- json_params: data, gold, predictions
INSERT INTO tasks (id, project_id, data, gold, predictions, is_gold, priority, external_id, source_key, state,
                   needed, n_done, n_leased, created_at)
VALUES (:id, :project_id, :data, :gold, :predictions, :is_gold, :priority, :external_id, :source_key, :state,
        :needed, :n_done, :n_leased, :created_at)

-- name: queue.restore_assignment
INSERT INTO assignments (id, project_id, task_id, worker_id, status, is_gold, created_at, expires_at, finished_at,
                         skip_reason, skip_note)
VALUES (:id, :project_id, :task_id, :worker_id, :status, :is_gold, :created_at, :expires_at, :finished_at,
        :skip_reason, :skip_note)

-- name: queue.restore_annotation
-- json_params: answer, meta
INSERT INTO annotations (id, project_id, task_id, worker_id, assignment_id, answer, is_gold, gold_score, excluded,
                         idempotency_key, duration_ms, meta, created_at, edited_at)
VALUES (:id, :project_id, :task_id, :worker_id, :assignment_id, :answer, :is_gold, :gold_score, :excluded,
        :idempotency_key, :duration_ms, :meta, :created_at, :edited_at)

-- name: queue.restore_worker
INSERT INTO project_workers (project_id, worker_id, n_claims, n_annotations, n_skips, n_gold, gold_score_sum, skill,
                             agreement, blocked, updated_at)
VALUES (:project_id, :worker_id, :n_claims, :n_annotations, :n_skips, :n_gold, :gold_score_sum, :skill, :agreement,
        :blocked, :updated_at)

-- name: queue.restore_result
-- json_params: answer, details
INSERT INTO task_results (task_id, project_id, answer, confidence, n_annotations, method, details, updated_at)
VALUES (:task_id, :project_id, :answer, :confidence, :n_annotations, :method, :details, :updated_at)

-- ---- media -------------------------------------------------------------------------------------------------

-- name: media.record
-- An image's size, as read from the file now (which wins over an older record of the same path).
INSERT INTO media (path, width, height, recorded_at) VALUES (:path, :width, :height, :now)
ON CONFLICT (path) DO UPDATE SET width = excluded.width, height = excluded.height, recorded_at = excluded.recorded_at

-- name: media.size
SELECT width, height FROM media WHERE path = :path

-- ---- the audit log ----------------------------------------------------------------------------------------

-- name: audit.insert
-- json_params: details
INSERT INTO audit_log (at, actor_id, actor, action, object_type, object_id, project_id, owner_id, details)
VALUES (:at, :actor_id, :actor, :action, :object_type, :object_id, :project_id, :owner_id, :details)

-- ---- pools and teams ----------------------------------------------------------------------------------------

-- name: projects.touch
-- Move a project's version forward: who may work on it changed (status, pool, a listed team's members). Always
-- forward, also twice within one clock tick, so caches keyed on the version never miss a change.
UPDATE projects SET updated_at = CASE WHEN :now > updated_at THEN :now ELSE updated_at + 0.001 END
WHERE id = :project

-- name: projects.set_correlation
-- The answers' correlation a project consensus measured, kept for the per-task consensus of later settles; a change
-- moves the version forward (as projects.touch) so every process's cached project row sees it.
UPDATE projects SET answer_correlation = :rho,
       updated_at = CASE WHEN :now > updated_at THEN :now ELSE updated_at + 0.001 END
WHERE id = :project AND (answer_correlation IS NULL OR answer_correlation <> :rho)

-- name: projects.touch_team
-- projects.touch for every project whose pool lists the team.
UPDATE projects SET updated_at = CASE WHEN :now > updated_at THEN :now ELSE updated_at + 0.001 END
WHERE id IN (SELECT project_id FROM project_pool_teams WHERE team_id = :team)

-- name: membership.listed
-- Is the worker listed in the project's pool, directly or through a team? (A row, or none.)
SELECT 1 AS listed
WHERE EXISTS (SELECT 1 FROM project_pool_workers WHERE project_id = :project AND worker_id = :worker)
   OR EXISTS (SELECT 1 FROM project_pool_teams pt JOIN team_members tm ON tm.team_id = pt.team_id
              WHERE pt.project_id = :project AND tm.worker_id = :worker)

-- name: membership.clear_pool_workers
DELETE FROM project_pool_workers WHERE project_id = :project

-- name: membership.clear_pool_teams
DELETE FROM project_pool_teams WHERE project_id = :project

-- name: membership.add_pool_worker
INSERT INTO project_pool_workers (project_id, worker_id) VALUES (:project, :worker)

-- name: membership.add_pool_team
INSERT INTO project_pool_teams (project_id, team_id) VALUES (:project, :team)

-- name: membership.set_pool_all
UPDATE projects SET pool_all = :all WHERE id = :project

-- name: teams.row
SELECT id, name, owner_id, created_at FROM teams WHERE id = :team

-- name: teams.id_by_name
SELECT id FROM teams WHERE owner_id = :owner AND name = :name

-- name: teams.insert
INSERT INTO teams (name, owner_id, created_at) VALUES (:name, :owner, :now) RETURNING id

-- name: teams.add_member
INSERT INTO team_members (team_id, worker_id) VALUES (:team, :worker) ON CONFLICT (team_id, worker_id) DO NOTHING

-- name: teams.remove_member
DELETE FROM team_members WHERE team_id = :team AND worker_id = :worker

-- name: teams.delete
DELETE FROM teams WHERE id = :team

-- ---- taking access and work away -------------------------------------------------------------------------

-- name: queue.release_worker_leases
-- A deactivated user's live leases go back to the queue, as if released (ix_assignments_worker_live).
DELETE FROM assignments WHERE worker_id = :worker AND status = 0 /*leased*/ RETURNING task_id, project_id, worker_id

-- name: queue.release_project_leases
-- An archived project's live leases go back (ix_assignments_live).
DELETE FROM assignments WHERE project_id = :project AND status = 0 /*leased*/ RETURNING task_id, project_id, worker_id

-- name: queue.unblock_worker
-- A worker may work in the project again, with a fresh gold record (answers left out while blocked stay out).
UPDATE project_workers SET blocked = false, n_gold = 0, gold_score_sum = 0, updated_at = :now
WHERE project_id = :project AND worker_id = :worker AND blocked = true

-- name: queue.delete_project
-- Everything under the project goes with it (foreign keys ON DELETE CASCADE).
DELETE FROM projects WHERE id = :project

-- name: queue.worker_counted_tasks
-- The tasks a worker's counted answers in a project are in, and whether each is complete.
SELECT a.task_id, t.state, t.is_gold FROM annotations a JOIN tasks t ON t.id = a.task_id
WHERE a.project_id = :project AND a.worker_id = :worker AND a.excluded = false

-- name: queue.worker_tallies
-- How many answers and skips a worker has in a project (the project counters lose them with the worker).
SELECT (SELECT count(*) FROM annotations WHERE project_id = :project AND worker_id = :worker) AS n_annotations,
       (SELECT count(*) FROM assignments
        WHERE project_id = :project AND worker_id = :worker AND status = 2 /*skipped*/) AS n_skips

-- name: queue.uncount_worker_answers
-- One answer fewer for every task the worker's answer counted in: open again (gold tasks are always open).
UPDATE tasks SET n_done = n_done - 1, state = 0 /*open*/
WHERE id IN (SELECT task_id FROM annotations WHERE project_id = :project AND worker_id = :worker AND excluded = false)

-- name: queue.drop_worker_results
DELETE FROM task_results
WHERE task_id IN (SELECT task_id FROM annotations
                  WHERE project_id = :project AND worker_id = :worker AND excluded = false)

-- name: queue.worker_leases_dropped
UPDATE tasks SET n_leased = n_leased - 1
WHERE id IN (SELECT task_id FROM assignments WHERE project_id = :project AND worker_id = :worker
                                               AND status = 0 /*leased*/)

-- name: queue.delete_worker_assignments
-- Every lease, skip and (by cascade) answer of the worker in the project.
DELETE FROM assignments WHERE project_id = :project AND worker_id = :worker

-- name: queue.delete_worker_row
-- A worker leaving is forgotten, but not a block: the requester's decision stays (a blocked worker whose answers
-- were removed could otherwise come back and work at once); their row keeps the block and counts nothing.
DELETE FROM project_workers WHERE project_id = :project AND worker_id = :worker AND blocked = false

-- name: queue.forget_blocked_worker
UPDATE project_workers SET n_claims = 0, n_annotations = 0, n_skips = 0, n_gold = 0, gold_score_sum = 0,
       skill = NULL, agreement = NULL, updated_at = :now
WHERE project_id = :project AND worker_id = :worker AND blocked = true

-- name: queue.uncount_worker
-- A worker's standing loses what deleted tasks had counted for them, their claims too (as a released lease's: the
-- first gold_first_n claims that qualify a worker count the tasks that are still there).
UPDATE project_workers SET n_annotations = n_annotations - :n_annotations, n_gold = n_gold - :n_gold,
       gold_score_sum = gold_score_sum - :score, n_skips = n_skips - :n_skips, n_claims = n_claims - :n_claims
WHERE project_id = :project AND worker_id = :worker

-- ---- media --------------------------------------------------------------------------------------------------

-- name: media.add_ref
-- A project's tasks show this file of the media folder (who may see the file follows who may see the project).
INSERT INTO project_media (path_hash, project_id, path) VALUES (:hash, :project, :path)
ON CONFLICT (path_hash, project_id) DO NOTHING

-- name: media.add_uploader
-- Who uploaded a file (an upload is its uploader's to name in tasks; the same content uploaded again adds nobody).
INSERT INTO media_uploaders (path_hash, user_id, path, uploaded_at) VALUES (:hash, :user, :path, :now)
ON CONFLICT (path_hash, user_id) DO NOTHING

-- name: media.only_in_project
-- The files no other project of the same owner shows: a deleted project leaves them unused by its owner (whether
-- another owner's project shows one is asked after the deletion, by media.shown, and never told).
SELECT m.path FROM project_media m
WHERE m.project_id = :project
  AND NOT EXISTS (SELECT 1 FROM project_media o JOIN projects op ON op.id = o.project_id
                  WHERE o.path_hash = m.path_hash AND o.project_id <> :project AND op.owner_id = :owner)

-- name: deletion.sizes
-- A project's task and answer counts (what a deletion takes), from its counters.
SELECT COALESCE(SUM(n_tasks), 0) AS tasks, COALESCE(SUM(n_annotations), 0) AS annotations
FROM project_counters WHERE project_id = :project

-- ---- demo ---------------------------------------------------------------------------------------------

-- name: demo.task_for_seed
-- json: gold, predictions
-- What a seeded demo worker answers a task with (labeling/demo.py): its external id, gold and predictions.
SELECT external_id, is_gold, gold, predictions FROM tasks WHERE id = :task
