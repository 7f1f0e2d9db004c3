'use strict';
// OMS "Pausing a Migration Task Group" on Express 5 (Node's http server, one process, state in memory).
//
// Run as: node --max-http-header-size=65536 server.js (PORT and OMS_SEED from the environment).

const fs = require('node:fs');
const express = require('express');

const PAUSABLE = new Set([1, 2]); // creating, monitoring
const PAUSING = 7;
const MAX_ID = 1024;
const MAX_TOKEN = 16384;

const tokens = new Map(); // token -> { project, mayUpdate }
const groups = new Map(); // `${project}\n${group}` -> status
for (const line of fs.readFileSync(process.env.OMS_SEED, 'utf8').split('\n')) {
  const [kind, ...fields] = line.split('\t');
  if (kind === 'token') tokens.set(fields[0], { project: fields[1], mayUpdate: fields[2] === '1' });
  else if (kind === 'group') groups.set(`${fields[0]}\n${fields[1]}`, Number(fields[2]));
}

class OmsError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
const invalidParameters = () => new OmsError(400, 'OMS.0064', 'Invalid request parameters.');

// Characters, as the page counts them: a 4-byte UTF-8 character is one, though two UTF-16 code units.
const characters = (value) => Array.from(value).length;

function stopTaskGroup(req, res) {
  const token = req.get('X-Auth-Token');
  if (token === undefined || !token.trim() || characters(token) > MAX_TOKEN) throw invalidParameters();
  const [projectId, groupId] = [req.params[0], req.params[1]];
  if (![projectId, groupId].every((id) => characters(id) >= 1 && characters(id) <= MAX_ID)) {
    throw invalidParameters();
  }
  const caller = tokens.get(token);
  if (caller === undefined) throw new OmsError(403, 'OMS.0003', 'Authentication failed.');
  if (caller.project !== projectId || !caller.mayUpdate) throw new OmsError(403, 'OMS.0003', 'Forbidden.');
  const key = `${projectId}\n${groupId}`;
  const status = groups.get(key); // one thread: nothing runs between this read and the write below
  if (status === undefined) throw new OmsError(400, 'OMS.1009', 'No resources found.');
  if (!PAUSABLE.has(status)) {
    throw new OmsError(400, 'OMS.0066', 'The task group is not running, no need to stop it.');
  }
  groups.set(key, PAUSING);
  res.status(200).end();
}

const app = express();
app.disable('x-powered-by');
// Express matches routes on the path as sent (an id's %2F stays in its segment) and decodes the captured
// ids afterwards. A regular expression, because a named parameter cannot be empty: an empty id is a bad
// parameter (400), not an unknown route.
app.route(/^\/v2\/([^/]*)\/taskgroups\/([^/]*)\/stop$/)
  .put(stopTaskGroup)
  .all((req, res) => {
    res.set('Allow', 'PUT').status(405).json({ error_code: 'OMS.0405', error_msg: 'Method not allowed.' });
  });

app.use((req, res) => {
  res.status(404).json({ error_code: 'OMS.0404', error_msg: 'Not found.' });
});
app.use((err, req, res, next) => {
  if (err instanceof OmsError) return res.status(err.status).json({ error_code: err.code, error_msg: err.message });
  if (res.headersSent) return next(err);
  // Express's own errors in the API's envelope: a malformed %-escape in an id is its 400.
  if (err.status === 400) return res.status(400).json({ error_code: 'OMS.0064', error_msg: 'Invalid request parameters.' });
  console.error(err);
  return res.status(500).json({ error_code: 'OMS.0500', error_msg: 'Internal error.' });
});

app.listen(Number(process.env.PORT), '127.0.0.1');
