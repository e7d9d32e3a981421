// remote:Command and remote:CopyToRemote over SSH, and live logging of command output.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumiprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	"golang.org/x/crypto/ssh"
)

const (
	remoteCommandToken = "command:remote:Command"
	copyToRemoteToken  = "command:remote:CopyToRemote"
)

// host is the engine, for streaming command output as it happens (nil when unavailable).
var host *pulumiprovider.HostClient

// logStatus sends one line of a command's output to the engine as ephemeral status; nil without
// an engine (a variable: the tests watch it).
var logStatus func(urn resource.URN, line string)

func connectEngine() {
	if len(os.Args) < 2 {
		return
	}
	if hc, err := pulumiprovider.NewHostClient(os.Args[1]); err == nil {
		host = hc
		logStatus = func(urn resource.URN, line string) { _ = hc.LogStatus(context.Background(), diag.Info, urn, line) }
	}
}

// lineLogger forwards complete lines to the engine as ephemeral status of urn, as
// pulumi-command 1.2.1 does (the lines are not kept in the update's diagnostics), and keeps
// everything.
type lineLogger struct {
	mu      sync.Mutex
	urn     resource.URN
	enabled bool
	pending []byte
	all     bytes.Buffer
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	if !l.enabled || logStatus == nil {
		return len(p), nil
	}
	l.pending = append(l.pending, p...)
	for {
		i := bytes.IndexByte(l.pending, '\n')
		if i < 0 {
			break
		}
		line := string(l.pending[:i])
		l.pending = l.pending[i+1:]
		logStatus(l.urn, line)
	}
	return len(p), nil
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.enabled && logStatus != nil && len(l.pending) > 0 {
		logStatus(l.urn, string(l.pending))
	}
	l.pending = nil
}

// loggers for stdout and stderr, honouring the `logging` input (default stdoutAndStderr).
func loggers(urn string, inputs resource.PropertyMap) (*lineLogger, *lineLogger) {
	mode := getString(inputs, "logging")
	if mode == "" {
		mode = "stdoutAndStderr"
	}
	u := resource.URN(urn)
	return &lineLogger{urn: u, enabled: mode == "stdout" || mode == "stdoutAndStderr"},
		&lineLogger{urn: u, enabled: mode == "stderr" || mode == "stdoutAndStderr"}
}

// commandError reports a failed command in pulumi-command 1.2.1's shape: the error, the whole
// command text quoted, then all of its output. Programs see what the upstream provider shows
// them (a long command line is quoted whole), so the tests see it too.
func commandError(err error, cmdText string, res runResult) error {
	output := res.stdout
	if res.stderr != "" {
		output = strings.TrimPrefix(output+"\n"+res.stderr, "\n")
	}
	return fmt.Errorf("%w: running %q:\n%s", err, cmdText, output)
}

// ---------------------------------------------------------------- SSH

type connection struct {
	host           string
	port           int
	user           string
	privateKey     string
	keyPassword    string
	password       string
	hostKey        string
	dialErrorLimit int
	perDialTimeout time.Duration
}

func getNumber(m resource.PropertyMap, k resource.PropertyKey, def float64) float64 {
	v, ok := m[k]
	if !ok {
		return def
	}
	v = unwrap(v)
	if v.IsNumber() {
		return v.NumberValue()
	}
	return def
}

func connectionFrom(inputs resource.PropertyMap) (connection, error) {
	v, ok := inputs["connection"]
	if !ok {
		return connection{}, fmt.Errorf("missing required input 'connection'")
	}
	v = unwrap(v)
	if !v.IsObject() {
		return connection{}, fmt.Errorf("input 'connection' must be an object")
	}
	m := v.ObjectValue()
	c := connection{
		host:           getString(m, "host"),
		port:           int(getNumber(m, "port", 22)),
		user:           getString(m, "user"),
		privateKey:     getString(m, "privateKey"),
		keyPassword:    getString(m, "privateKeyPassword"),
		password:       getString(m, "password"),
		hostKey:        getString(m, "hostKey"),
		dialErrorLimit: int(getNumber(m, "dialErrorLimit", 10)),
		perDialTimeout: time.Duration(getNumber(m, "perDialTimeout", 15)) * time.Second,
	}
	if c.user == "" {
		c.user = "root"
	}
	if c.host == "" {
		return c, fmt.Errorf("connection.host is required")
	}
	return c, nil
}

func (c connection) address() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }

func (c connection) clientConfig() (*ssh.ClientConfig, error) {
	cfg := &ssh.ClientConfig{User: c.user, Timeout: c.perDialTimeout}
	if c.privateKey != "" {
		var signer ssh.Signer
		var err error
		if c.keyPassword != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.privateKey), []byte(c.keyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(c.privateKey))
		}
		if err != nil {
			// Never echo the key: only say what is wrong with it.
			return nil, fmt.Errorf("connection.privateKey cannot be parsed: %v", err)
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if c.password != "" {
		cfg.Auth = append(cfg.Auth, ssh.Password(c.password))
	}
	if c.hostKey != "" {
		pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.hostKey))
		if err != nil {
			return nil, fmt.Errorf("connection.hostKey is not an OpenSSH public key: %v", err)
		}
		cfg.HostKeyAlgorithms = []string{pinned.Type()}
		cfg.HostKeyCallback = func(hostname string, _ net.Addr, key ssh.PublicKey) error {
			if !bytes.Equal(key.Marshal(), pinned.Marshal()) {
				return fmt.Errorf("host key mismatch for %s: the server presented %s %s, the pinned key is %s",
					hostname, key.Type(), ssh.FingerprintSHA256(key), ssh.FingerprintSHA256(pinned))
			}
			return nil
		}
	} else {
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey() // #nosec G106 -- as upstream without hostKey
	}
	return cfg, nil
}

// Backoff between dial attempts: pulumi's retry.Until defaults, as pulumi-command 1.2.1 uses them.
var dialDelay, dialBackoff, dialMaxDelay = 100 * time.Millisecond, 1.5, 5 * time.Second

// dial retries like pulumi-command 1.2.1: every failed dial counts, a refused handshake (a host
// key that is not the pinned one, a key the server refuses) included, until dialErrorLimit + 1
// dials have failed (-1: no limit).
func (c connection) dial(ctx context.Context) (*ssh.Client, error) {
	cfg, err := c.clientConfig()
	if err != nil {
		return nil, err
	}
	delay := dialDelay
	for dials := 1; ; dials++ {
		client, err := ssh.Dial("tcp", c.address(), cfg)
		if err == nil {
			return client, nil
		}
		if c.dialErrorLimit > -1 && dials > c.dialErrorLimit {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(time.Duration(float64(delay)*dialBackoff), dialMaxDelay)
	}
}

// runRemote runs cmdText through the login shell of the remote user, with stdin and
// environment (sent with setenv: the server must accept them), streaming its output.
func runRemote(ctx context.Context, urn string, inputs resource.PropertyMap, cmdText string, extraEnv map[string]string) (runResult, error) {
	conn, err := connectionFrom(inputs)
	if err != nil {
		return runResult{}, err
	}
	client, err := conn.dial(ctx)
	if err != nil {
		return runResult{}, err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return runResult{}, err
	}
	defer session.Close()
	env := getEnv(inputs)
	for k, v := range extraEnv {
		env[k] = v
	}
	for k, v := range env {
		if err := session.Setenv(k, v); err != nil {
			return runResult{}, fmt.Errorf("the server refused environment variable %s (allow it with AcceptEnv in sshd_config, or pass it on stdin): %w", k, err)
		}
	}
	if s := getString(inputs, "stdin"); s != "" {
		session.Stdin = strings.NewReader(s)
	}
	stdout, stderr := loggers(urn, inputs)
	session.Stdout, session.Stderr = stdout, stderr
	done := make(chan error, 1)
	go func() { done <- session.Run(cmdText) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = session.Signal(ssh.SIGTERM)
		err = ctx.Err()
	}
	stdout.flush()
	stderr.flush()
	res := runResult{stdout: strings.TrimSuffix(stdout.all.String(), "\n"), stderr: strings.TrimSuffix(stderr.all.String(), "\n")}
	if err != nil {
		return res, commandError(err, cmdText, res)
	}
	return res, nil
}

// copyToRemote writes a file asset (text, file path) to remotePath through a remote shell
// (no sftp subsystem needed). Directories are created; archives are not supported.
func copyToRemote(ctx context.Context, urn string, inputs resource.PropertyMap) error {
	remotePath := getString(inputs, "remotePath")
	if remotePath == "" {
		return fmt.Errorf("missing required input 'remotePath'")
	}
	src, ok := inputs["source"]
	if !ok {
		return fmt.Errorf("missing required input 'source'")
	}
	src = unwrap(src)
	var content io.Reader
	switch {
	case src.IsAsset():
		asset := src.AssetValue()
		switch {
		case asset.IsText():
			content = strings.NewReader(asset.Text)
		case asset.IsPath():
			f, err := os.Open(asset.Path)
			if err != nil {
				return err
			}
			defer f.Close()
			content = f
		default:
			return fmt.Errorf("source: only text and file assets are supported by this offline build")
		}
	default:
		return fmt.Errorf("source: archives are not supported by this offline build (use a file asset)")
	}
	conn, err := connectionFrom(inputs)
	if err != nil {
		return err
	}
	client, err := conn.dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return err
	}
	defer session.Close()
	session.Stdin = content
	var stderr bytes.Buffer
	session.Stderr = &stderr
	quoted := "'" + strings.ReplaceAll(remotePath, "'", `'\''`) + "'"
	dir := "'" + strings.ReplaceAll(path.Dir(remotePath), "'", `'\''`) + "'"
	if err := session.Run("mkdir -p " + dir + " && cat > " + quoted + ".partial && mv " + quoted + ".partial " + quoted); err != nil {
		return fmt.Errorf("copying to %s:%s: %w: %s", conn.address(), remotePath, err, stderr.String())
	}
	_ = urn
	return nil
}
