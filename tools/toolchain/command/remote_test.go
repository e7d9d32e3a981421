package main

// Pins where this offline provider must behave like pulumi-command 1.2.1, the provider users run:
// the program can tell these apart, and the upstream one cannot be built here.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

func TestFailedCommandErrorQuotesTheWholeCommandThenItsOutput(t *testing.T) {
	err := commandError(errors.New("Process exited with status 1"), `bash "$s" 'up'`, runResult{stdout: "step 1\nstep 2", stderr: "FAILED: x"})
	want := "Process exited with status 1: running \"bash \\\"$s\\\" 'up'\":\nstep 1\nstep 2\nFAILED: x"
	if err.Error() != want {
		t.Fatalf("error:\n%s\nwant:\n%s", err, want)
	}
}

// An SSH server that completes the key exchange with its own host key, counting the dials.
func sshServer(t *testing.T) (address string, dials *atomic.Int32) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	config := &ssh.ServerConfig{NoClientAuth: true}
	config.AddHostKey(signer)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = listener.Close() })
	dials = &atomic.Int32{}
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			dials.Add(1)
			go func() { _, _, _, _ = ssh.NewServerConn(conn, config); _ = conn.Close() }()
		}
	}()
	return listener.Addr().String(), dials
}

func TestARefusedHandshakeIsRetriedUpToTheDialErrorLimit(t *testing.T) {
	dialDelay, dialMaxDelay = time.Millisecond, 5*time.Millisecond
	address, dials := sshServer(t)
	host, port, _ := net.SplitHostPort(address)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	pinned, _ := ssh.NewPublicKey(other.Public())
	conn := connection{
		host: host, port: atoi(t, port), user: "deploy", password: "x",
		hostKey:        strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pinned))),
		dialErrorLimit: 3, perDialTimeout: 5 * time.Second,
	}
	_, err := conn.dial(context.Background())
	if err == nil || !strings.Contains(err.Error(), "host key") {
		t.Fatalf("dial with another pinned host key: %v, want a host key error", err)
	}
	if got := dials.Load(); got != 4 {
		t.Fatalf("%d dials, want dialErrorLimit + 1 = 4 (every refused handshake is retried)", got)
	}
}

func TestOutputIsLoggedLineByLineAsEphemeralStatus(t *testing.T) {
	var lines []string
	saved := logStatus
	logStatus = func(_ resource.URN, line string) { lines = append(lines, line) }
	t.Cleanup(func() { logStatus = saved })
	logger := &lineLogger{enabled: true}
	_, _ = logger.Write([]byte("one\ntw"))
	_, _ = logger.Write([]byte("o\nthree"))
	logger.flush()
	if strings.Join(lines, "|") != "one|two|three" || logger.all.String() != "one\ntwo\nthree" {
		t.Fatalf("status lines %q, kept %q", lines, logger.all.String())
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOnlyMirroredInputsAndTheConnectionAreSecretNeverStdoutOrStderr(t *testing.T) {
	inputs := resource.PropertyMap{
		"create":     resource.MakeSecret(resource.NewStringProperty("echo $TOKEN")),
		"stdin":      resource.MakeSecret(resource.NewStringProperty("token")),
		"delete":     resource.NewStringProperty("true"),
		"connection": resource.NewObjectProperty(resource.PropertyMap{"host": resource.NewStringProperty("10.231.1.2")}),
	}
	out := outputsFrom(inputs, &runResult{stdout: "token", stderr: "warning"})
	for _, k := range []resource.PropertyKey{"create", "stdin", "connection"} {
		if !out[k].IsSecret() {
			t.Errorf("%s: want secret, got %v", k, out[k])
		}
	}
	for _, k := range []resource.PropertyKey{"stdout", "stderr", "delete"} {
		if out[k].IsSecret() {
			t.Errorf("%s: want plain (upstream marks it secret only through additionalSecretOutputs), got secret", k)
		}
	}
	if !out["stdout"].IsString() || out["stdout"].StringValue() != "token" {
		t.Errorf("stdout: want the command's output, got %v", out["stdout"])
	}
}
