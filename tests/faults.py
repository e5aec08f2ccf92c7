"""Fault injection for the MongoDB tests: drives the control port of the
test server's proxy (tests/server/faults.go, documented in
tests/server/README.md).

    f = Faults.from_env("mydb")      # rules act on database mydb only; None
                                     # with an external server
    rule = f.arm("createIndexes", coll="_variants", action="hold")
    p = subprocess.Popen([...load...])
    f.wait(rule)                     # the command is held right now
    p.send_signal(signal.SIGINT)     # or p.kill(), or kill the server
    f.release(rule)                  # forward it (forward=False: drop the connection)
"""
import json
import os
import urllib.error
import urllib.parse
import urllib.request


class Faults:
    """Rules scoped to one database, so that tests running in parallel on
    the one fixture server never act on each other's commands."""

    def __init__(self, addr, db):
        self.base = "http://" + addr.strip()
        self.db = db

    @classmethod
    def from_env(cls, db):
        state = os.environ.get("SWEFREQ_TEST_SERVER_DIR")
        if not state or not os.path.exists(os.path.join(state, "control")):
            return None
        with open(os.path.join(state, "control")) as f:
            return cls(f.read(), db)

    def _get(self, path, http_timeout=10, **params):
        url = self.base + path + "?" + urllib.parse.urlencode(
            {k: v for k, v in params.items() if v is not None})
        try:
            with urllib.request.urlopen(url, timeout=http_timeout) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def arm(self, command, nth=1, coll=None, action="hold", code=None, message=None, has=None):
        """Arms a rule on the nth request of `command` (whose collection
        contains `coll`, and whose raw bytes contain `has`, if given);
        returns its id."""
        st, body = self._get("/arm", db=self.db, command=command, nth=nth, coll=coll,
                             action=action, code=code, message=message, has=has)
        if st != 200:
            raise RuntimeError(f"arm {command}: {body}")
        return body["id"]

    def wait(self, rule, timeout=60):
        """The rule's state once it fired, or None after `timeout` s."""
        st, body = self._get("/wait", http_timeout=timeout + 10, id=rule, timeout=timeout)
        return body if st == 200 else None

    def release(self, rule, forward=True):
        return self._get("/release", id=rule, forward=1 if forward else 0)[1]

    def rules(self):
        return [r for r in self._get("/rules")[1] if r.get("db") == self.db]

    def clear(self):
        """Removes this database's rules (and the dropTarget emulation if it
        covers it); held requests are forwarded."""
        self._get("/clear", db=self.db)

    def emulate_drop_target(self, db_substring):
        """renameCollection with dropTarget for databases whose name
        contains db_substring ("" turns it off)."""
        return self._get("/config", drop_target_db=db_substring)[1]
