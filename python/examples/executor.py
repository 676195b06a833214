# SPDX-License-Identifier: MIT
"""executor.py: an agent's http_client primitive, with kiwiauth.
Usage: python3 executor.py CHAIN.json METHOD URL"""
import json
import sys

import kiwiauth

broker = kiwiauth.Broker()      # one per process, shared by every thread


def run_tool(chain, method, url, headers=None, body=None):
    """Run one tool's request; return (output, metadata) for the agent."""
    try:
        r = broker.perform(chain, method, url, headers=headers, body=body,
                           timeout=30)
    except kiwiauth.KiwiAuthError as e:   # the message never holds a token
        return {"error": str(e)}, e.metadata  # auth_required: ask the user
    return {"status": r.status, "body": r.text}, r.metadata


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        chain = json.load(f)    # the tool's manifest first, then its parents
    out, meta = run_tool(chain, sys.argv[2], sys.argv[3])
    print(json.dumps({"output": out, "metadata": meta}))
    sys.exit(1 if "error" in out else 0)
