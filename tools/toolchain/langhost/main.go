// pulumi-language-nodejs (permacoop offline build).
//
// A small Node.js language host for the Pulumi engine, written for offline
// toolchains where the upstream language host module cannot be fetched. It
// speaks the LanguageRuntime gRPC protocol of the sdk it is built against and
// runs programs through the @pulumi/pulumi package's own `cmd/run` entry point,
// exactly like the upstream host does.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Version is set with -ldflags "-X main.Version=...".
var Version = "3.0.0-dev"

// exit code used by @pulumi/pulumi when it already printed an actionable message.
const nodeBailExitCode = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
}

func main() {
	h := &host{}
	var positional []string
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--tracing" || a == "-tracing":
			if i+1 < len(args) {
				h.tracing = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--tracing=") || strings.HasPrefix(a, "-tracing="):
			h.tracing = a[strings.Index(a, "=")+1:]
		case strings.HasPrefix(a, "-"):
			// --logtostderr, -v=N, --logflow and legacy runtime flags such as
			// -typescript=true are accepted and ignored (options come from ProgramInfo).
		default:
			positional = append(positional, a)
		}
	}
	if len(positional) > 0 {
		h.engineAddress = positional[len(positional)-1]
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not start language host RPC server: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "language host RPC stopped serving: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// ---------------------------------------------------------------- options

type options struct {
	typescript     bool
	tsconfig       string
	nodeargs       string
	packagemanager string
}

func parseOptions(s *structpb.Struct) options {
	o := options{typescript: true}
	if s == nil {
		return o
	}
	m := s.AsMap()
	if v, ok := m["typescript"]; ok {
		switch t := v.(type) {
		case bool:
			o.typescript = t
		case string:
			b, err := strconv.ParseBool(t)
			if err == nil {
				o.typescript = b
			}
		}
	}
	if v, ok := m["tsconfig"].(string); ok {
		o.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		o.nodeargs = v
	}
	if v, ok := m["packagemanager"].(string); ok {
		o.packagemanager = v
	}
	return o
}

func programDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	if fallback != "" {
		return fallback
	}
	wd, _ := os.Getwd()
	return wd
}

// ---------------------------------------------------------------- plugins

type pkgJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pulumi  *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

type dep struct{ name, version, server string }

// findPluginPackages walks node_modules (including nested and scoped
// packages) below dir and returns the resource plugins that packages declare.
func findPluginPackages(dir string) ([]dep, error) {
	seen := map[string]dep{}
	visited := map[string]bool{}
	var walk func(nm string, depth int)
	walk = func(nm string, depth int) {
		if depth > 12 {
			return
		}
		real, err := filepath.EvalSymlinks(nm)
		if err != nil || visited[real] {
			return
		}
		visited[real] = true
		entries, err := os.ReadDir(nm)
		if err != nil {
			return
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			p := filepath.Join(nm, name)
			if strings.HasPrefix(name, "@") {
				scoped, err := os.ReadDir(p)
				if err != nil {
					continue
				}
				for _, s := range scoped {
					visitPackage(filepath.Join(p, s.Name()), seen, func(sub string) { walk(sub, depth+1) })
				}
				continue
			}
			visitPackage(p, seen, func(sub string) { walk(sub, depth+1) })
		}
	}
	// Search the program directory and its parents (workspaces hoist packages).
	for d := dir; ; {
		walk(filepath.Join(d, "node_modules"), 0)
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	out := make([]dep, 0, len(seen))
	for _, v := range seen {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return out[i].version < out[j].version
	})
	return out, nil
}

func visitPackage(p string, seen map[string]dep, recurse func(string)) {
	b, err := os.ReadFile(filepath.Join(p, "package.json"))
	if err != nil {
		return
	}
	var info pkgJSON
	if json.Unmarshal(b, &info) == nil && info.Pulumi != nil && info.Pulumi.Resource {
		name := info.Pulumi.Name
		if name == "" {
			name = info.Name
			if strings.HasPrefix(name, "@pulumi/") {
				name = strings.TrimPrefix(name, "@pulumi/")
			} else {
				name = strings.TrimPrefix(name, "@")
			}
		}
		version := info.Pulumi.Version
		if version == "" {
			version = info.Version
		}
		if version != "" && !strings.HasPrefix(version, "v") {
			version = "v" + version
		}
		seen[name+"@"+version] = dep{name: name, version: version, server: info.Pulumi.Server}
	}
	if st, err := os.Stat(filepath.Join(p, "node_modules")); err == nil && st.IsDir() {
		recurse(filepath.Join(p, "node_modules"))
	}
}

func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	deps, err := findPluginPackages(programDir(req.GetInfo(), req.GetProgram()))
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, d := range deps {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: d.name, Kind: "resource", Version: d.version, Server: d.server,
		})
	}
	return resp, nil
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	deps, err := findPluginPackages(programDir(req.GetInfo(), ""))
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, d := range deps {
		resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{
			Name: d.name, Kind: "resource", Version: d.version, Server: d.server,
		})
	}
	return resp, nil
}

// ---------------------------------------------------------------- run

func findRunScript(dir string) (string, error) {
	if p := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); p != "" {
		return p, nil
	}
	return findSDKCommand(dir, "run")
}

// findSDKCommand finds @pulumi/pulumi's cmd/<name> in dir's node_modules or a parent's.
func findSDKCommand(dir, name string) (string, error) {
	for d := dir; ; {
		p := filepath.Join(d, "node_modules", "@pulumi", "pulumi", "cmd", name)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return "", errors.New("it looks like the Pulumi SDK has not been installed; have you run npm install or yarn install?")
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	opts := parseOptions(info.GetOptions())
	pwd := req.GetPwd()
	if pwd == "" {
		pwd = programDir(info, "")
	}
	dir := programDir(info, pwd)

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runPath, err := findRunScript(dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()

	var args []string
	args = append(args, strings.Fields(opts.nodeargs)...)
	args = append(args, runPath)
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engine)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", pwd)
	if info.GetRootDirectory() != "" {
		add("root-directory", info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", h.tracing)
	program := req.GetProgram()
	if info.GetEntryPoint() != "" {
		program = info.GetEntryPoint()
	}
	if program == "" {
		program = "."
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		return &pulumirpc.RunResponse{Error: "failed to serialize configuration: " + err.Error()}, nil
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	sk, err := json.Marshal(secretKeys)
	if err != nil {
		return &pulumirpc.RunResponse{Error: "failed to serialize configuration secret keys: " + err.Error()}, nil
	}

	env := os.Environ()
	env = append(env, "PULUMI_CONFIG="+string(cfg), "PULUMI_CONFIG_SECRET_KEYS="+string(sk))
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	if req.GetLoaderTarget() != "" {
		env = append(env, "PULUMI_LOADER_TARGET="+req.GetLoaderTarget())
	}

	cmd := exec.CommandContext(ctx, nodeBin, args...) // #nosec G204
	cmd.Dir = pwd
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			switch code := exitErr.ExitCode(); code {
			case 0:
				return &pulumirpc.RunResponse{Error: "Program exited unexpectedly: " + err.Error()}, nil
			case nodeBailExitCode:
				return &pulumirpc.RunResponse{Bail: true}, nil
			default:
				return &pulumirpc.RunResponse{
					Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code),
				}, nil
			}
		}
		return &pulumirpc.RunResponse{
			Error: "Problem executing program (could not run language executor): " + err.Error(),
		}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// ---------------------------------------------------------------- deps

type streamWriter struct {
	send   func(*pulumirpc.InstallDependenciesResponse) error
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	r := &pulumirpc.InstallDependenciesResponse{Stdout: b}
	if w.stderr {
		r = &pulumirpc.InstallDependenciesResponse{Stderr: b}
	}
	if err := w.send(r); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	info := req.GetInfo()
	opts := parseOptions(info.GetOptions())
	dir := programDir(info, req.GetDirectory())
	var stdout, stderr io.Writer = streamWriter{send: server.Send}, streamWriter{send: server.Send, stderr: true}
	_, err := npm.Install(server.Context(), npm.PackageManagerType(opts.packagemanager), dir, false, stdout, stderr)
	return err
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(nodeBin, "--version").Output() // #nosec G204
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	info := req.GetInfo()
	opts := parseOptions(info.GetOptions())
	dir := programDir(info, req.GetProgram())
	pm, err := npm.ResolvePackageManager(npm.PackageManagerType(opts.packagemanager), dir)
	if err != nil {
		return nil, err
	}
	deps, err := pm.ListPackages(ctx, dir, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, d := range deps {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: d.Name, Version: d.Version})
	}
	return resp, nil
}

// RunPlugin runs a plugin written for Node.js. The engine runs Node.js policy packs (kind
// "analyzer") this way: @pulumi/pulumi's cmd/run-policy-pack from the pack's own
// node_modules, in the pack's directory, with the engine address then the pack directory as
// arguments. Like the upstream host, a proxy answers the engine first, so that the pack
// starts with the stack's name, project and config in its environment.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	info := req.GetInfo()
	opts := parseOptions(info.GetOptions())
	dir := programDir(info, req.GetPwd())
	analyzer := req.GetKind() == "analyzer"

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	var runPath string
	if analyzer {
		runPath, err = findSDKCommand(dir, "run-policy-pack")
	} else if runPath = os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); runPath == "" {
		runPath, err = findSDKCommand(dir, "run-plugin")
	}
	if err != nil {
		return err
	}

	args := append(strings.Fields(opts.nodeargs), runPath)
	if analyzer {
		args = append(append(args, req.GetArgs()...), dir)
	} else {
		args = append(append(args, dir), req.GetArgs()...)
	}
	env := req.GetEnv()
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	var proxy *sdk.PolicyProxy
	if analyzer {
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start the policy pack proxy: %w", err)
		}
		config, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get the stack configuration: %w", err)
		}
		if config != nil {
			add := func(k, v string) {
				if v != "" {
					env = append(env, k+"="+v)
				}
			}
			add("PULUMI_NODEJS_ORGANIZATION", config.GetOrganization())
			add("PULUMI_NODEJS_PROJECT", config.GetProject())
			add("PULUMI_NODEJS_STACK", config.GetStack())
			add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(config.GetDryRun()))
			if config.GetConfig() != nil {
				cfg, err := json.Marshal(config.GetConfig())
				if err != nil {
					return fmt.Errorf("could not serialize the stack configuration: %w", err)
				}
				add("PULUMI_CONFIG", string(cfg))
			}
		}
	}

	cmd := exec.CommandContext(ctx, nodeBin, args...) // #nosec G204
	// Policy packs have always run in their own directory.
	cmd.Dir = req.GetPwd()
	if analyzer {
		cmd.Dir = dir
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not run the plugin with node: %w", err)
	}
	if proxy != nil {
		err = proxy.Attach(ctx, cmd)
	} else {
		err = cmd.Wait()
	}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("plugin exited with non-zero exit code: %d", exitErr.ExitCode())
		}
		return err
	}
	return closer.Close()
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
