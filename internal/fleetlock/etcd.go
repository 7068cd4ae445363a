package fleetlock

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// DialEtcd makes an etcd client for a FleetLock server. Its reconnection
// attempts are at most a second apart: gRPC's default backoff grows to
// two minutes, so after etcd came back from a restart the server would
// go on answering 503 for as long as its last wait, while nodes wait on
// it (TestEtcd caught this: five seconds of etcd down, and the first
// request after its restart still timed out).
func DialEtcd(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 2 * time.Second,
		})},
	})
}

// Etcd keeps semaphores in etcd, one key per group, written with a
// compare-and-swap on the key's revision: airlock's key and encoding, so
// airlock and cairn can share an etcd.
type Etcd struct {
	Client *clientv3.Client
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
		resp, err := e.Client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(clientv3.OpPut(key, string(data))).
			Commit()
		if err != nil {
			return s, fmt.Errorf("etcd: %w", err)
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
	resp, err := e.Client.Get(ctx, key)
	if err != nil {
		return Semaphore{}, 0, fmt.Errorf("etcd: %w", err)
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
