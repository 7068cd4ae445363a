package fleetlock

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/cairnlinux/cairn/internal/fleetlock/etcdtest"
)

// TestEtcd: the semaphore in a real etcd (Debian's etcd-server), reached
// past an endpoint that is down: slots granted and released, a holder
// refused while the slots are full; etcd killed with a lock held, the
// server answering 503 meanwhile, restarted on its data: no lock lost,
// and the slots go on working. The semaphore is stored as airlock stores
// it.
func TestEtcd(t *testing.T) {
	e := etcdtest.Start(t)
	// etcd's own Go client, only to read what cairn stored.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	// The first endpoint refuses connections: every request moves on to
	// the second, a member that answers.
	dead := httptest.NewServer(nil)
	dead.Close()
	srv := httptest.NewServer((&Server{Backend: &Etcd{Endpoints: []string{dead.URL, e.Endpoint()}}, Groups: map[string]uint64{"default": 2}, Timeout: 3 * time.Second}).Handler())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	node := func(id string) *Client { return &Client{URL: srv.URL, ID: id, Group: "default"} }
	holders := func() []string {
		t.Helper()
		g, err := Groups(ctx, nil, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		return g[0].Holders
	}

	for _, id := range []string{"n1", "n2"} {
		if err := node(id).Lock(ctx); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	var re *RefusedError
	if err := node("n3").Lock(ctx); !errors.As(err, &re) || !re.Full() {
		t.Errorf("n3 while both slots are held: %v", err)
	}
	if err := node("n1").Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := node("n3").Lock(ctx); err != nil {
		t.Fatalf("n3 after n1 released: %v", err)
	}
	resp, err := cli.Get(ctx, "com.coreos.airlock/groups/default/v1/semaphore")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != `{"total_slots":2,"holders":["n2","n3"]}` {
		t.Errorf("the semaphore in etcd: %v %v", resp, err)
	}

	// etcd dies with n2 and n3 holding slots.
	e.Kill()
	err = node("n4").Lock(ctx)
	if !errors.As(err, &re) || re.Status != 503 {
		t.Errorf("lock while etcd is down: %v", err)
	}
	if err := node("n2").Unlock(ctx); !errors.As(err, &re) || re.Status != 503 {
		t.Errorf("unlock while etcd is down: %v", err)
	}
	e.Restart()
	if h := holders(); !slices.Equal(h, []string{"n2", "n3"}) {
		t.Fatalf("holders after etcd's restart: %v", h)
	}
	if err := node("n4").Lock(ctx); !errors.As(err, &re) || !re.Full() {
		t.Errorf("n4 after the restart, slots full: %v", err)
	}
	for _, id := range []string{"n2", "n3"} {
		if err := node(id).Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := node("n4").Lock(ctx); err != nil {
		t.Errorf("n4 after the others released: %v", err)
	}
	if err := node("n4").Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if h := holders(); len(h) != 0 {
		t.Errorf("slots still held at the end: %v", h)
	}
}
