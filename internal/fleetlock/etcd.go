package fleetlock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Etcd keeps semaphores in etcd, one key per group, written with a
// compare-and-swap on the key's revision: airlock's key and encoding, so
// airlock and cairn can share an etcd.
//
// It speaks to etcd through the JSON gateway every etcd since 3.4 serves
// beside gRPC (POST /v3/kv/range and /v3/kv/txn), not through etcd's Go
// client: that client and gRPC were a quarter of cairn's binary (5.7 of
// 22.7 MB), carried by every node and RAM image for one command of the
// fleet's coordinator. Over plain HTTP, an etcd back from a restart
// answers the next request: there is no connection backoff to wait out.
type Etcd struct {
	// Endpoints are etcd's client URLs (http://host:2379), tried in
	// order until one answers.
	Endpoints []string
	// HTTP is the client to use; nil: one whose requests time out after
	// 5 s.
	HTTP *http.Client
}

var defaultEtcdHTTP = &http.Client{Timeout: 5 * time.Second}

// etcdKV is a key-value pair as the gateway encodes it: bytes as base64,
// 64-bit integers as strings.
type etcdKV struct {
	Key         []byte `json:"key"`
	Value       []byte `json:"value"`
	ModRevision int64  `json:"mod_revision,string"`
}

// call posts a request to one of the endpoints' gateway and decodes its
// answer. A refused connection moves on to the next endpoint; etcd's own
// errors (an HTTP status other than 200) are returned with its message.
func (e *Etcd) call(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if len(e.Endpoints) == 0 {
		return errors.New("etcd: no endpoints")
	}
	client := e.HTTP
	if client == nil {
		client = defaultEtcdHTTP
	}
	var errs []error
	for _, ep := range e.Endpoints {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(ep, "/")+path, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("etcd %s: %w", ep, err)
		}
		r.Header.Set("Content-Type", "application/json")
		res, err := client.Do(r)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("etcd %s: %w", ep, err)
		}
		if res.StatusCode != http.StatusOK {
			var g struct {
				Message string `json:"message"`
				Error   string `json:"error"`
			}
			json.Unmarshal(data, &g)
			msg := g.Message
			if msg == "" {
				msg = g.Error
			}
			if msg == "" {
				msg = strings.TrimSpace(string(data))
			}
			return fmt.Errorf("etcd %s%s: %s: %s", ep, path, res.Status, msg)
		}
		if err := json.Unmarshal(data, resp); err != nil {
			return fmt.Errorf("etcd %s%s: an answer that is not etcd's (%v): is it etcd 3.4 or later?", ep, path, err)
		}
		return nil
	}
	return fmt.Errorf("etcd: %w", errors.Join(errs...))
}

// etcdKey is airlock's key for a group's semaphore.
func etcdKey(group string) string {
	return fmt.Sprintf("com.coreos.airlock/groups/%s/v1/semaphore", url.QueryEscape(group))
}

// maxConflicts bounds the retries when other writers change the key
// between read and write.
const maxConflicts = 20

func (e *Etcd) Update(ctx context.Context, group string, slots uint64, change func(*Semaphore) error) (Semaphore, error) {
	key := etcdKey(group)
	for range maxConflicts {
		s, rev, err := e.get(ctx, key)
		if err != nil {
			return Semaphore{}, err
		}
		next := s
		next.TotalSlots = slots
		if err := change(&next); err != nil {
			return s, err
		}
		data, err := json.Marshal(next)
		if err != nil {
			return s, err
		}
		// The key's revision unchanged (0: still missing), then put.
		txn := map[string]any{
			"compare": []map[string]any{{"key": []byte(key), "target": "MOD", "result": "EQUAL", "mod_revision": strconv.FormatInt(rev, 10)}},
			"success": []map[string]any{{"request_put": map[string]any{"key": []byte(key), "value": data}}},
		}
		var resp struct {
			Succeeded bool `json:"succeeded"`
		}
		if err := e.call(ctx, "/v3/kv/txn", txn, &resp); err != nil {
			return s, err
		}
		if resp.Succeeded {
			return next, nil
		}
	}
	return Semaphore{}, fmt.Errorf("etcd: the semaphore of group %q changed under %d attempts in a row", group, maxConflicts)
}

func (e *Etcd) Get(ctx context.Context, group string) (Semaphore, bool, error) {
	s, rev, err := e.get(ctx, etcdKey(group))
	return s, rev != 0, err
}

// get reads a semaphore and the revision it was last written at (0: it
// does not exist).
func (e *Etcd) get(ctx context.Context, key string) (Semaphore, int64, error) {
	var resp struct {
		Kvs []etcdKV `json:"kvs"`
	}
	if err := e.call(ctx, "/v3/kv/range", map[string]any{"key": []byte(key)}, &resp); err != nil {
		return Semaphore{}, 0, err
	}
	if len(resp.Kvs) == 0 {
		return Semaphore{Holders: []string{}}, 0, nil
	}
	kv := resp.Kvs[0]
	var s Semaphore
	if err := json.Unmarshal(kv.Value, &s); err != nil {
		return Semaphore{}, 0, fmt.Errorf("etcd key %s: %w", key, err)
	}
	if s.Holders == nil {
		s.Holders = []string{}
	}
	return s, kv.ModRevision, nil
}
