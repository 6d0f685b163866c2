"""moto server for the 100,000-secret benchmark (`npm run bench:scale`); tests use plain moto.

moto 5.2.5's Secrets Manager store was written for a few secrets, and three of its costs grow
with the store, which at 100,000 secrets makes the peer, not secretbridge, the whole benchmark:
  1. every name lookup (`name in store`, `store[name]`, on each CreateSecret, PutSecretValue,
     TagResource ...) scans every secret in the store, O(n);
  2. every ListSecrets page serialises every matching secret before cutting out its 100,
     O(n) per page, so a full listing is O(n^2);
  3. those scans run on werkzeug's request threads while other requests insert secrets, so under
     concurrent writes a scan fails with "dictionary changed size during iteration" and moto
     answers HTTP 500 with an HTML page (23% of creates in a 100,000-secret run).
This launcher keeps moto's own request handling and answers and changes only those costs: an
ARN index beside the name-keyed store (lookups O(1), same results), serialising only the page
that ListSecrets returns, a sorted name index so a name-prefix filter (a partitioned inventory)
finds its secrets by bisection instead of testing every secret, the matching secrets kept
between the pages of one listing while no secret is added or removed, and one lock around moto's request handling (moto is bound to one core
by the GIL anyway). Run: python moto_indexed_server.py -H 127.0.0.1 -p PORT
"""

import argparse
import bisect
import itertools
import threading
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.secretsmanager import models
from moto.secretsmanager.utils import get_secret_name_from_partial_arn
from werkzeug.serving import run_simple


def _arns(store: models.SecretsStore) -> dict[str, str]:
    index = store.__dict__.get("_arn_to_name")
    if index is None:
        index = {s.arn: name for name, s in dict.items(store)}
        store.__dict__["_arn_to_name"] = index
    return index


def _find(store: models.SecretsStore, key: str) -> Any:
    """The secret whose name or full ARN is `key`, as moto's linear scan finds it, or None."""
    secret = dict.get(store, key)
    if secret is not None and (secret.name == key or secret.arn == key):
        return secret
    name = _arns(store).get(key)
    if name is not None:
        secret = dict.get(store, name)
        if secret is not None and secret.arn == key:
            return secret
    return None


def _names(store: models.SecretsStore) -> tuple[list[str], dict[str, int]]:
    """The store's names in sorted order (for name-prefix filters) and each name's insertion rank."""
    names = store.__dict__.get("_sorted_names")
    if names is None:
        names = sorted(dict.keys(store))
        store.__dict__["_sorted_names"] = names
        store.__dict__["_rank"] = {name: i for i, name in enumerate(dict.keys(store))}
        store.__dict__["_next_rank"] = itertools.count(len(names))
    return names, store.__dict__["_rank"]


def _changed(store: models.SecretsStore) -> None:
    store.__dict__["_list_cache"] = {}


def _setitem(self: models.SecretsStore, key: str, value: Any) -> None:
    _changed(self)
    names, rank = _names(self)
    if not dict.__contains__(self, key):
        bisect.insort(names, key)
        rank[key] = next(self.__dict__["_next_rank"])
    dict.__setitem__(self, key, value)
    _arns(self)[value.arn] = key


def _forget(self: models.SecretsStore, name: str) -> None:
    _changed(self)
    names, rank = _names(self)
    i = bisect.bisect_left(names, name)
    if i < len(names) and names[i] == name:
        del names[i]
    rank.pop(name, None)


def _getitem(self: models.SecretsStore, key: str) -> Any:
    found = _find(self, key)
    if found is not None:
        return found
    return dict.__getitem__(self, get_secret_name_from_partial_arn(key))


def _contains(self: models.SecretsStore, key: str) -> bool:
    return _find(self, key) is not None or dict.__contains__(self, get_secret_name_from_partial_arn(key))


def _get(self: models.SecretsStore, key: str) -> Any:
    found = _find(self, key)
    if found is not None:
        return found
    return dict.get(self, get_secret_name_from_partial_arn(key))


def _pop(self: models.SecretsStore, key: str) -> Any:
    found = _find(self, key)
    name = get_secret_name_from_partial_arn(found.name if found is not None else key)
    removed = dict.pop(self, name, None)
    if removed is not None:
        _arns(self).pop(removed.arn, None)
        _forget(self, name)
    return removed


def _delitem(self: models.SecretsStore, key: str) -> None:
    removed = dict.pop(self, key)
    _arns(self).pop(removed.arn, None)
    _forget(self, key)


models.SecretsStore.__setitem__ = _setitem  # type: ignore[method-assign]
models.SecretsStore.__getitem__ = _getitem  # type: ignore[method-assign]
models.SecretsStore.__contains__ = _contains  # type: ignore[method-assign,assignment]
models.SecretsStore.__delitem__ = _delitem  # type: ignore[method-assign]
models.SecretsStore.get = _get  # type: ignore[method-assign,assignment]
models.SecretsStore.pop = _pop  # type: ignore[method-assign,assignment]


def _candidates(store: models.SecretsStore, filters: list[dict[str, Any]]) -> list[Any]:
    """The secrets a positive one-value name filter can match, found by bisection, in moto's own
    (insertion) order; every secret when there is no such filter. The caller still applies all
    the filters, so the answer is moto's, only found without scanning the store."""
    prefixes = [f["Values"][0] for f in filters if f["Key"] == "name" and len(f["Values"]) == 1 and not f["Values"][0].startswith("!")]
    if not prefixes:
        return list(store.values())
    names, rank = _names(store)
    lo = bisect.bisect_left(names, prefixes[0])
    hi = bisect.bisect_left(names, prefixes[0] + "\U0010ffff")
    return [dict.__getitem__(store, name) for name in sorted(names[lo:hi], key=rank.__getitem__)]


def _list_secrets(
    self: models.SecretsManagerBackend,
    filters: list[dict[str, Any]],
    max_results: int = models.MAX_RESULTS_DEFAULT,
    next_token: str | None = None,
    include_planned_deletion: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    # Pages of one listing ask for the same filters; with name filters only and deleted secrets
    # included, the matching secrets change only when a secret is added or removed.
    cache = self.secrets.__dict__.setdefault("_list_cache", {})
    key = tuple((f["Key"], tuple(f["Values"])) for f in filters) if include_planned_deletion and all(f["Key"] == "name" for f in filters) else None
    matching = cache.get(key) if key is not None else None
    if matching is None:
        matching = [
            s
            for s in _candidates(self.secrets, filters)
            if not (getattr(s, "deleted_date", None) and not include_planned_deletion) and models._matches(s, filters)
        ]
        if key is not None:
            cache[key] = matching
    page, token = self._get_secret_values_page_and_next_token(matching, max_results, next_token)  # type: ignore[arg-type]
    return [s.to_dict() for s in page], token


models.SecretsManagerBackend.list_secrets = _list_secrets  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ: dict[str, Any], start_response: Any) -> Any:
        with lock:
            # Materialise the answer inside the lock: moto builds it from shared state.
            return list(app(environ, start_response))

    run_simple(args.host, args.port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
