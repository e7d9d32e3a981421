// pulumi-resource-command (permacoop offline build).
//
// Implements the `command:local:Command`, `command:remote:Command` and
// `command:remote:CopyToRemote` resources and the `command:local:run` function
// of the Pulumi command package over the ResourceProvider gRPC protocol, for
// offline toolchains where the upstream provider module cannot be fetched.
// Command output is streamed to the engine log as it happens.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Version is set with -ldflags "-X main.Version=...".
var Version = "0.0.0-dev"

const commandToken = "command:local:Command"

// inputKeys are the inputs of local.Command that are echoed back as outputs.
var inputKeys = []resource.PropertyKey{
	"addPreviousOutputInEnv", "archivePaths", "assetPaths", "connection", "create", "delete", "dir",
	"environment", "interpreter", "logging", "remotePath", "source", "stdin", "triggers", "update",
}

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func main() {
	connectEngine()
	p := &provider{}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, p)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "fatal: %v\n", err)
		os.Exit(1)
	}
}

var marshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, marshalOpts)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, marshalOpts)
}

// ---------------------------------------------------------------- metadata

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (p *provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	str := map[string]any{"type": "string"}
	strs := map[string]any{"type": "array", "items": str}
	props := map[string]any{
		"addPreviousOutputInEnv": map[string]any{"type": "boolean"},
		"archivePaths":           strs,
		"assetPaths":             strs,
		"create":                 str,
		"delete":                 str,
		"dir":                    str,
		"environment":            map[string]any{"type": "object", "additionalProperties": str},
		"interpreter":            strs,
		"logging":                str,
		"stdin":                  str,
		"triggers":               map[string]any{"type": "array", "items": map[string]any{"$ref": "pulumi.json#/Any"}},
		"update":                 str,
	}
	outs := map[string]any{"stdout": str, "stderr": str}
	for k, v := range props {
		outs[k] = v
	}
	remoteProps := map[string]any{"connection": map[string]any{"type": "object", "additionalProperties": map[string]any{"$ref": "pulumi.json#/Any"}}}
	for _, k := range []string{"addPreviousOutputInEnv", "create", "delete", "environment", "logging", "stdin", "triggers", "update"} {
		remoteProps[k] = props[k]
	}
	remoteOuts := map[string]any{"stdout": str, "stderr": str}
	for k, v := range remoteProps {
		remoteOuts[k] = v
	}
	copyProps := map[string]any{
		"connection": remoteProps["connection"],
		"remotePath": str,
		"source":     map[string]any{"$ref": "pulumi.json#/Asset"},
		"triggers":   props["triggers"],
	}
	spec := map[string]any{
		"name":    "command",
		"version": Version,
		"resources": map[string]any{
			commandToken: map[string]any{
				"inputProperties": props,
				"properties":      outs,
				"required":        []string{"stdout", "stderr"},
			},
			remoteCommandToken: map[string]any{
				"inputProperties": remoteProps,
				"requiredInputs":  []string{"connection"},
				"properties":      remoteOuts,
				"required":        []string{"stdout", "stderr", "connection"},
			},
			copyToRemoteToken: map[string]any{
				"inputProperties": copyProps,
				"requiredInputs":  []string{"connection", "remotePath", "source"},
				"properties":      copyProps,
			},
		},
		"functions": map[string]any{
			"command:local:run": map[string]any{
				"inputs": map[string]any{"properties": props, "required": []string{"command"}},
				"outputs": map[string]any{
					"properties": outs,
					"required":   []string{"stdout", "stderr"},
				},
			},
		},
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

// ---------------------------------------------------------------- config

func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{
		AcceptSecrets: true, AcceptResources: true, SupportsPreview: true, AcceptOutputs: false,
	}, nil
}

// ---------------------------------------------------------------- helpers

func checkType(urn string) error {
	switch resource.URN(urn).Type().String() {
	case commandToken, remoteCommandToken, copyToRemoteToken:
		return nil
	}
	return status.Errorf(codes.Unimplemented,
		"%s is not supported by this offline build of pulumi-resource-command", resource.URN(urn).Type())
}

func typeOf(urn string) string { return resource.URN(urn).Type().String() }

// execute runs a command of the resource urn: locally, or over SSH for remote:Command.
func execute(ctx context.Context, urn string, inputs resource.PropertyMap, cmdText string, extraEnv map[string]string) (runResult, error) {
	if typeOf(urn) == remoteCommandToken {
		return runRemote(ctx, urn, inputs, cmdText, extraEnv)
	}
	return run(ctx, urn, inputs, cmdText, extraEnv)
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsOutput() {
		v = v.OutputValue().Element
	}
	return v
}

func getString(m resource.PropertyMap, k resource.PropertyKey) string {
	v, ok := m[k]
	if !ok {
		return ""
	}
	v = unwrap(v)
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func getStrings(m resource.PropertyMap, k resource.PropertyKey) []string {
	v, ok := m[k]
	if !ok {
		return nil
	}
	v = unwrap(v)
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		e = unwrap(e)
		if e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

func getBool(m resource.PropertyMap, k resource.PropertyKey, def bool) bool {
	v, ok := m[k]
	if !ok {
		return def
	}
	v = unwrap(v)
	if v.IsBool() {
		return v.BoolValue()
	}
	return def
}

func getEnv(m resource.PropertyMap) map[string]string {
	out := map[string]string{}
	v, ok := m["environment"]
	if !ok {
		return out
	}
	v = unwrap(v)
	if !v.IsObject() {
		return out
	}
	for k, e := range v.ObjectValue() {
		e = unwrap(e)
		if e.IsString() {
			out[string(k)] = e.StringValue()
		}
	}
	return out
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type runResult struct{ stdout, stderr string }

// run executes cmd the way pulumi-command does: through the interpreter
// (default /bin/sh -c), in dir, with the given extra environment and stdin.
func run(ctx context.Context, urn string, inputs resource.PropertyMap, cmdText string, extraEnv map[string]string) (runResult, error) {
	interp := getStrings(inputs, "interpreter")
	if len(interp) == 0 {
		interp = []string{"/bin/sh", "-c"}
	}
	args := append(append([]string{}, interp[1:]...), cmdText)
	c := exec.CommandContext(ctx, interp[0], args...) // #nosec G204
	if d := getString(inputs, "dir"); d != "" {
		c.Dir = d
	}
	env := os.Environ()
	envMap := getEnv(inputs)
	keys := make([]string, 0, len(envMap))
	for k := range envMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+envMap[k])
	}
	for k, v := range extraEnv {
		env = append(env, k+"="+v)
	}
	c.Env = env
	if s := getString(inputs, "stdin"); s != "" {
		c.Stdin = strings.NewReader(s)
	}
	stdout, stderr := loggers(urn, inputs)
	c.Stdout = stdout
	c.Stderr = stderr
	err := c.Run()
	stdout.flush()
	stderr.flush()
	res := runResult{
		stdout: strings.TrimSuffix(stdout.all.String(), "\n"),
		stderr: strings.TrimSuffix(stderr.all.String(), "\n"),
	}
	if err != nil {
		return res, commandError(err, cmdText, res)
	}
	return res, nil
}

// outputsFrom decides which outputs are secret as pulumi-command 1.2.1 does (pulumi-go-provider's
// infer, default secret flow): an output that mirrors an input keeps that input's secretness;
// `connection` is always secret (its field is tagged provider:"secret"); stdout and stderr have
// no input of their own and are NEVER secret, whatever the inputs: a program whose command may
// print a secret must say so with additionalSecretOutputs, as it must upstream.
func outputsFrom(inputs resource.PropertyMap, res *runResult) resource.PropertyMap {
	out := resource.PropertyMap{}
	for _, k := range inputKeys {
		if v, ok := inputs[k]; ok && !v.IsNull() {
			out[k] = v
		}
	}
	if c, ok := out["connection"]; ok && !c.IsSecret() && !c.IsComputed() {
		out["connection"] = resource.MakeSecret(c)
	}
	if res == nil {
		out["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		out["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
		return out
	}
	out["stdout"], out["stderr"] = resource.NewStringProperty(res.stdout), resource.NewStringProperty(res.stderr)
	return out
}

func previousEnv(inputs, state resource.PropertyMap) map[string]string {
	if !getBool(inputs, "addPreviousOutputInEnv", true) || state == nil {
		return nil
	}
	return map[string]string{
		"PULUMI_COMMAND_STDOUT": getString(state, "stdout"),
		"PULUMI_COMMAND_STDERR": getString(state, "stderr"),
	}
}

// ---------------------------------------------------------------- CRUD

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var changed, replaces []string
	for _, k := range inputKeys {
		o, hasO := olds[k]
		n, hasN := news[k]
		if !hasO && !hasN {
			continue
		}
		if n.ContainsUnknowns() {
			changed = append(changed, string(k))
		} else if hasO != hasN || !reflect.DeepEqual(unwrapDeep(o), unwrapDeep(n)) {
			changed = append(changed, string(k))
		} else {
			continue
		}
		if k == "triggers" {
			replaces = append(replaces, string(k))
		}
	}
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for _, k := range changed {
		kind := pulumirpc.PropertyDiff_UPDATE
		if k == "triggers" {
			kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
		}
		detailed[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	return &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_SOME,
		Diffs:           changed,
		Replaces:        replaces,
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}, nil
}

func unwrapDeep(v resource.PropertyValue) any {
	return unwrap(v).MapRepl(nil, func(pv resource.PropertyValue) (any, bool) {
		if pv.IsSecret() || pv.IsOutput() {
			return unwrapDeep(pv), true
		}
		return nil, false
	})
}

func (p *provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	id := newID()
	if req.GetPreview() || inputs.ContainsUnknowns() {
		out, err := marshal(outputsFrom(inputs, nil))
		if err != nil {
			return nil, err
		}
		return &pulumirpc.CreateResponse{Id: id, Properties: out}, nil
	}
	var res *runResult
	if typeOf(req.GetUrn()) == copyToRemoteToken {
		if err := copyToRemote(ctx, req.GetUrn(), inputs); err != nil {
			return nil, err
		}
		res = &runResult{}
	} else if c := getString(inputs, "create"); c != "" {
		r, err := execute(ctx, req.GetUrn(), inputs, c, nil)
		if err != nil {
			return nil, err
		}
		res = &r
	} else {
		res = &runResult{}
	}
	out, err := marshal(outputsFrom(inputs, res))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: out}, nil
}

func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	state, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() || inputs.ContainsUnknowns() {
		out, err := marshal(outputsFrom(inputs, nil))
		if err != nil {
			return nil, err
		}
		return &pulumirpc.UpdateResponse{Properties: out}, nil
	}
	c := getString(inputs, "update")
	if c == "" {
		c = getString(inputs, "create")
	}
	res := &runResult{stdout: getString(state, "stdout"), stderr: getString(state, "stderr")}
	if typeOf(req.GetUrn()) == copyToRemoteToken {
		if err := copyToRemote(ctx, req.GetUrn(), inputs); err != nil {
			return nil, err
		}
		res = &runResult{}
	} else if c != "" {
		r, err := execute(ctx, req.GetUrn(), inputs, c, previousEnv(inputs, state))
		if err != nil {
			return nil, err
		}
		res = &r
	}
	out, err := marshal(outputsFrom(inputs, res))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: out}, nil
}

func (p *provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs := state
	if oi, err := unmarshal(req.GetOldInputs()); err == nil && len(oi) > 0 {
		inputs = oi
	}
	if c := getString(inputs, "delete"); c != "" && typeOf(req.GetUrn()) != copyToRemoteToken {
		if _, err := execute(ctx, req.GetUrn(), inputs, c, previousEnv(inputs, state)); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// ---------------------------------------------------------------- invoke

func (p *provider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != "command:local:run" {
		return nil, status.Errorf(codes.Unimplemented, "function %s is not supported by this offline build", req.GetTok())
	}
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	cmdText := getString(args, "command")
	if cmdText == "" {
		return nil, errors.New("command:local:run: missing required argument 'command'")
	}
	res, err := run(ctx, "", args, cmdText, nil)
	if err != nil {
		return nil, err
	}
	out := resource.PropertyMap{}
	for k, v := range args {
		out[k] = v
	}
	out["stdout"] = resource.NewStringProperty(res.stdout)
	out["stderr"] = resource.NewStringProperty(res.stderr)
	ret, err := marshal(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
