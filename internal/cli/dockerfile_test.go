package cli

// Checks of what ships clusterdns: the Dockerfile (there is no Docker engine in
// CI, so the `go build` RUN line is read and run as written, on a copy of the
// build context filtered by .dockerignore) and the kustomize manifests under
// deploy/ (every YAML file decoded strictly into its Kubernetes type, and the
// base and every overlay checked against what the binary needs: RBAC, ports,
// probes, flags, security context). The rendered overlays need `kustomize` or
// `kubectl` on PATH; without one those subtests are skipped.

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// repoRoot is the module root: this package is internal/cli.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return root
}

// modulePath and goVersion read the module line and the go directive of go.mod.
func modulePath(t *testing.T, root string) (module, goVersion string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "module" {
			module = f[1]
		}
		if len(f) == 2 && f[0] == "go" {
			goVersion = f[1]
		}
	}
	if module == "" || goVersion == "" {
		t.Fatalf("go.mod: no module or go line")
	}
	return module, goVersion
}

// ---------------------------------------------------------------- Dockerfile

type dockerInstr struct {
	line  int    // first line of the instruction
	cmd   string // upper case: FROM, RUN, ...
	rest  string // everything after the instruction word, continuations joined
	stage int    // index of the FROM it belongs to
}

type dockerStage struct {
	image, name string
	args        map[string]string // ARGs declared so far in the stage, with defaults
}

// parseDockerfile splits a Dockerfile into instructions: comments dropped,
// backslash continuations joined (comment lines inside a continuation are
// skipped, as Docker does).
func parseDockerfile(t *testing.T, file string) ([]dockerInstr, []dockerStage) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var (
		instrs []dockerInstr
		stages []dockerStage
		cur    strings.Builder
		start  int
	)
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		body := strings.TrimRight(line, " \t\r")
		if strings.HasSuffix(body, `\`) {
			cur.WriteString(strings.TrimSuffix(body, `\`))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(body)
		full := strings.TrimSpace(cur.String())
		cur.Reset()
		word, rest, _ := strings.Cut(full, " ")
		in := dockerInstr{line: start, cmd: strings.ToUpper(word), rest: strings.TrimSpace(rest), stage: len(stages) - 1}
		switch in.cmd {
		case "FROM":
			f := strings.Fields(in.rest)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := dockerStage{args: map[string]string{}}
			if len(f) > 0 {
				st.image = f[0]
			}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			in.stage = len(stages) - 1
		case "ARG":
			if in.stage < 0 {
				break // global ARG, only visible to FROM lines
			}
			for _, a := range strings.Fields(in.rest) {
				name, def, _ := strings.Cut(a, "=")
				stages[in.stage].args[name] = strings.Trim(def, `"`)
			}
		}
		instrs = append(instrs, in)
	}
	if cur.Len() != 0 {
		t.Fatalf("%s: ends inside a continued line", file)
	}
	if len(stages) == 0 {
		t.Fatalf("%s: no FROM", file)
	}
	return instrs, stages
}

// shellWords splits a POSIX-shell command line into words, expanding $NAME and
// ${NAME} through lookup (outside single quotes) and honouring quotes and
// backslashes. Operators (&&, ;, |, >) come back as words of their own so
// that callers can refuse them.
func shellWords(s string, lookup func(string) (string, error)) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		inTok bool
	)
	flush := func() {
		if inTok {
			words = append(words, cur.String())
		}
		cur.Reset()
		inTok = false
	}
	expand := func(i int) (int, error) { // s[i] == '$'
		j := i + 1
		var name string
		if j < len(s) && s[j] == '{' {
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				return 0, fmt.Errorf("unterminated ${ at %d", i)
			}
			name = s[j+1 : j+end]
			j += end + 1
		} else {
			k := j
			for k < len(s) && (s[k] == '_' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z' || k > j && s[k] >= '0' && s[k] <= '9') {
				k++
			}
			if k == j {
				cur.WriteByte('$')
				return j, nil
			}
			name, j = s[j:k], k
		}
		v, err := lookup(name)
		if err != nil {
			return 0, err
		}
		cur.WriteString(v)
		return j, nil
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			flush()
			i++
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' at %d", i)
			}
			cur.WriteString(s[i+1 : i+1+end])
			inTok = true
			i += end + 2
		case c == '"':
			inTok = true
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf(`unterminated "`)
				}
				if s[i] == '"' {
					i++
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					cur.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '$' {
					var err error
					if i, err = expand(i); err != nil {
						return nil, err
					}
					continue
				}
				cur.WriteByte(s[i])
				i++
			}
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			inTok = true
			i += 2
		case c == '$':
			inTok = true
			var err error
			if i, err = expand(i); err != nil {
				return nil, err
			}
		case strings.IndexByte("&;|<>`()", c) >= 0:
			flush()
			words = append(words, string(c))
			i++
		default:
			cur.WriteByte(c)
			inTok = true
			i++
		}
	}
	flush()
	return words, nil
}

// jsonForm decodes an exec-form instruction (ENTRYPOINT ["..."]).
func jsonForm(t *testing.T, in dockerInstr) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.rest), &v); err != nil {
		t.Fatalf("Dockerfile:%d: %s must be in exec form (a JSON array): %v", in.line, in.cmd, err)
	}
	return v
}

// dockerGoBuild is the `go build` RUN line of the Dockerfile, expanded.
type dockerGoBuild struct {
	stage int
	env   []string // NAME=value assignments in front of `go`
	args  []string // after `go`: build -trimpath ...
	out   string   // the -o path
}

// goBuildRun finds the one RUN line that runs `go build` and expands it with
// the given build-arg values (ARGs the Dockerfile declares; an undeclared
// variable is an error, since Docker would silently expand it to "").
func goBuildRun(t *testing.T, instrs []dockerInstr, stages []dockerStage, buildArgs map[string]string) dockerGoBuild {
	t.Helper()
	var found []dockerInstr
	for _, in := range instrs {
		if in.cmd == "RUN" && regexp.MustCompile(`\bgo\s+build\b`).MatchString(in.rest) {
			found = append(found, in)
		}
	}
	if len(found) != 1 {
		t.Fatalf("Dockerfile: want exactly one RUN with `go build`, found %d", len(found))
	}
	in := found[0]
	declared := map[string]string{}
	for _, i := range instrs { // ARGs of the stage declared before this RUN
		if i.stage == in.stage && i.cmd == "ARG" && i.line < in.line {
			for _, a := range strings.Fields(i.rest) {
				name, def, _ := strings.Cut(a, "=")
				declared[name] = strings.Trim(def, `"`)
			}
		}
	}
	words, err := shellWords(in.rest, func(name string) (string, error) {
		def, ok := declared[name]
		if !ok {
			return "", fmt.Errorf("$%s is not declared with ARG in the stage before line %d", name, in.line)
		}
		if v, ok := buildArgs[name]; ok {
			return v, nil
		}
		return def, nil
	})
	if err != nil {
		t.Fatalf("Dockerfile:%d: %v", in.line, err)
	}
	for len(words) > 0 && strings.HasPrefix(words[0], "--") { // RUN --mount=...
		words = words[1:]
	}
	b := dockerGoBuild{stage: in.stage}
	for len(words) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[0]) {
		b.env = append(b.env, words[0])
		words = words[1:]
	}
	for _, w := range words {
		if len(w) == 1 && strings.Contains("&;|<>`()", w) {
			t.Fatalf("Dockerfile:%d: the go build RUN line must be a single command (found %q)", in.line, w)
		}
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("Dockerfile:%d: want `[NAME=value ...] go build ...`, got %q", in.line, words)
	}
	b.args = words[1:]
	for i, a := range b.args {
		if a == "-o" && i+1 < len(b.args) {
			b.out = b.args[i+1]
		} else if v, ok := strings.CutPrefix(a, "-o="); ok {
			b.out = v
		}
	}
	if b.out == "" {
		t.Fatalf("Dockerfile:%d: go build has no -o", in.line)
	}
	return b
}

// flagValue is the value of a go/pflag-style flag in args ("-x v", "-x=v",
// "--x v", "--x=v"), the last one winning; ok is false when absent. A flag
// followed by an argument that starts with "--" (or by nothing) is boolean.
func flagValue(args []string, name string) (v string, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		n, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if n != name {
			continue
		}
		if !hasVal {
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				val = args[i+1]
				i++
			} else {
				val = "true"
			}
		}
		v, ok = val, true
	}
	return v, ok
}

func addrPort(t *testing.T, what, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s %q: %v", what, addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 || n > 65535 {
		t.Fatalf("%s %q: bad port", what, addr)
	}
	return n
}

// checkServeArgs runs the real command line parser on args (with --help, so
// that nothing is served): every flag must exist and parse.
func checkServeArgs(t *testing.T, where string, args []string) {
	t.Helper()
	if len(args) == 0 || args[0] != "serve" {
		t.Errorf("%s: args %q do not start with the serve command", where, args)
		return
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), append(slices.Clone(args), "--help"), strings.NewReader(""), &out, &errb); code != 0 {
		t.Errorf("%s: clusterdns %s does not parse (exit %d): %s", where, strings.Join(args, " "), code, errb.String())
	}
}

// ignoreRule is one .dockerignore line; the matching follows
// github.com/moby/patternmatcher for the syntax used here: patterns are
// anchored at the context root, `*` and `?` stay inside a path element, `**`
// crosses them, a pattern that matches a directory excludes what is under
// it, `!` re-includes, the last matching rule wins.
type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

func readDockerignore(t *testing.T, file string) []ignoreRule {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rules []ignoreRule
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			r.negate, line = true, strings.TrimSpace(rest)
		}
		line = path.Clean(strings.TrimPrefix(line, "/"))
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case strings.HasPrefix(line[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(line[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			case c == '[' || c == '\\':
				t.Fatalf("%s: %q: this test does not implement [classes] or escapes", file, line)
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		r.re = regexp.MustCompile(re.String())
		rules = append(rules, r)
	}
	return rules
}

func dockerignored(rules []ignoreRule, rel string) bool {
	excluded := false
	for _, r := range rules {
		// The path or one of its parent directories matches.
		for p := rel; p != "." && p != "/"; p = path.Dir(p) {
			if r.re.MatchString(p) {
				excluded = !r.negate
				break
			}
		}
	}
	return excluded
}

// buildContext copies root into dst without what .dockerignore excludes.
func buildContext(t *testing.T, root, dst string) {
	t.Helper()
	rules := readDockerignore(t, filepath.Join(root, ".dockerignore"))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if dockerignored(rules, rel) {
			// A later `!` rule could re-include something below: descend
			// unless no rule re-includes anything.
			if d.IsDir() && !slices.ContainsFunc(rules, func(r ignoreRule) bool { return r.negate }) {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDockerignoreMatching(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ".dockerignore")
	os.WriteFile(file, []byte("# c\n.git\n/*.md\ntest\n**/testdata\n**/*_test.go\n!keep/x_test.go\n"), 0o644)
	rules := readDockerignore(t, file)
	for rel, want := range map[string]bool{
		".git/HEAD": true, "README.md": true, "docs/README.md": false,
		"test/e2e/x.go": true, "internal/test/x.go": false,
		"internal/zone/testdata/a.json": true, "internal/zone/zone_test.go": true,
		"keep/x_test.go": false, "internal/zone/zone.go": false, "go.mod": false,
	} {
		if got := dockerignored(rules, rel); got != want {
			t.Errorf("%s: ignored %v, want %v", rel, got, want)
		}
	}
}

func TestDockerfileImage(t *testing.T) {
	root := repoRoot(t)
	_, goVersion := modulePath(t, root)
	instrs, stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	b := goBuildRun(t, instrs, stages, nil)

	// The builder's Go is the go.mod go line's major.minor.
	builder := stages[b.stage].image
	tag, ok := strings.CutPrefix(builder, "golang:")
	minor := regexp.MustCompile(`^\d+\.\d+`).FindString(goVersion)
	if !ok || !strings.HasPrefix(tag, minor) || len(tag) > len(minor) && tag[len(minor)] >= '0' && tag[len(minor)] <= '9' {
		t.Errorf("builder image %q: want golang:%s (go.mod says go %s)", builder, minor, goVersion)
	}

	final := len(stages) - 1
	if final == b.stage {
		t.Fatalf("Dockerfile: the binary is built in the final stage; want a multi-stage build")
	}
	if img := stages[final].image; img != "scratch" && !strings.HasPrefix(img, "gcr.io/distroless/static") {
		t.Errorf("final stage %q: want scratch or gcr.io/distroless/static*", img)
	}
	var user, entry, cmd []string
	var copied bool
	var exposed []string
	for _, in := range instrs {
		if in.stage != final {
			continue
		}
		switch in.cmd {
		case "USER":
			user = strings.Fields(in.rest)
		case "ENTRYPOINT":
			entry = jsonForm(t, in)
		case "CMD":
			cmd = jsonForm(t, in)
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.rest)...)
		case "COPY":
			f := strings.Fields(in.rest)
			from := stages[b.stage].name
			if len(f) == 3 && (f[0] == "--from="+from || f[0] == "--from="+strconv.Itoa(b.stage)) && f[1] == b.out {
				copied = true
				if len(entry) == 0 {
					entry = []string{f[2]} // checked against ENTRYPOINT below
				}
			}
		}
	}
	if !copied {
		t.Errorf("final stage does not COPY --from=%s %s", stages[b.stage].name, b.out)
	}
	// Kubernetes can only verify runAsNonRoot against a numeric USER.
	if len(user) != 1 || !regexp.MustCompile(`^[1-9]\d*(:\d+)?$`).MatchString(user[0]) {
		t.Errorf("final stage USER %q: want a numeric non-root uid[:gid] such as 65532:65532", user)
	}
	if len(entry) != 1 || !path.IsAbs(entry[0]) {
		t.Errorf("ENTRYPOINT %q: want the copied binary", entry)
	}
	checkServeArgs(t, "Dockerfile CMD", cmd)
	listen, ok1 := flagValue(cmd, "listen")
	health, ok2 := flagValue(cmd, "health-addr")
	if !ok1 || !ok2 {
		t.Fatalf("Dockerfile CMD %q: want --listen and --health-addr", cmd)
	}
	lp, hp := addrPort(t, "CMD --listen", listen), addrPort(t, "CMD --health-addr", health)
	wantExposed := []string{fmt.Sprintf("%d/udp", lp), fmt.Sprintf("%d/tcp", lp), fmt.Sprintf("%d/tcp", hp)}
	if m, ok := flagValue(cmd, "metrics-addr"); ok && m != "" {
		wantExposed = append(wantExposed, fmt.Sprintf("%d/tcp", addrPort(t, "CMD --metrics-addr", m)))
	}
	for _, want := range wantExposed {
		if !slices.Contains(exposed, want) && !(strings.HasSuffix(want, "/tcp") && slices.Contains(exposed, strings.TrimSuffix(want, "/tcp"))) {
			t.Errorf("EXPOSE %q: missing %s", exposed, want)
		}
	}
	if lp < 1024 {
		t.Errorf("CMD --listen %s: a non-root image cannot bind a port below 1024 without a capability", listen)
	}

	// The base Deployment runs the image the way its CMD does.
	objs := baseObjects(t, root)
	args := objs.deployment.Spec.Template.Spec.Containers[0].Args
	for _, f := range []string{"listen", "health-addr", "metrics-addr"} {
		dv, _ := flagValue(args, f)
		cv, _ := flagValue(cmd, f)
		if dv != cv {
			t.Errorf("--%s: deploy/base says %q, the Dockerfile CMD %q", f, dv, cv)
		}
	}
}

// TestDockerfileBuild builds the binary as the Dockerfile does, from a copy of
// the build context, and checks that it is static, stripped and stamped.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	root := repoRoot(t)
	module, _ := modulePath(t, root)
	_ = Version // the -X target below must exist
	const version = "v0.0.0-dockerfile-test"
	instrs, stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	b := goBuildRun(t, instrs, stages, map[string]string{
		"VERSION": version, "TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH,
	})

	if !slices.Contains(b.env, "CGO_ENABLED=0") {
		t.Errorf("go build env %q: want CGO_ENABLED=0", b.env)
	}
	if !slices.Contains(b.args, "-trimpath") {
		t.Errorf("go build %q: want -trimpath", b.args)
	}
	ldflags, _ := flagValue(b.args, "ldflags")
	ld := strings.Fields(ldflags)
	if !slices.Contains(ld, "-s") || !slices.Contains(ld, "-w") {
		t.Errorf("-ldflags %q: want -s -w", ldflags)
	}
	if x := "-X " + module + "/internal/cli.Version=" + version; !strings.Contains(strings.Join(ld, " "), x) {
		t.Errorf("-ldflags %q: want %q", ldflags, x)
	}
	if last := b.args[len(b.args)-1]; last != "./cmd/clusterdns" {
		t.Errorf("go build builds %q, want ./cmd/clusterdns", last)
	}

	tmp := t.TempDir()
	ctxDir := filepath.Join(tmp, "context")
	buildContext(t, root, ctxDir)
	bin := filepath.Join(tmp, "out", "clusterdns")
	args := slices.Clone(b.args)
	for i := range args {
		if args[i] == b.out {
			args[i] = bin
		} else if args[i] == "-o="+b.out {
			args[i] = "-o=" + bin
		}
	}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = ctxDir
	// As in the builder: no .git in the context, no workspace.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -buildvcs=false"))
	cmd.Env = append(cmd.Env, b.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s (in a copy of the build context, after .dockerignore): %v\n%s", strings.Join(b.args, " "), err, out)
	}

	if runtime.GOOS == "linux" {
		checkStaticELF(t, bin, ctxDir)
	} else {
		t.Logf("not on linux: the static ELF checks run only there")
	}

	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	if !strings.Contains(string(out), version) {
		t.Errorf("version prints %q, want the -ldflags version %s", out, version)
	}
}

func checkStaticELF(t *testing.T, bin, ctxDir string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: not ELF: %v", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: want a static binary", p.Type)
		}
	}
	for _, name := range []string{".interp", ".dynamic", ".symtab"} {
		if f.Section(name) != nil {
			t.Errorf("section %s present: want static and stripped (-s)", name)
		}
	}
	for _, s := range f.Sections {
		if strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			t.Errorf("section %s present: want no DWARF (-w)", s.Name)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("DT_NEEDED %q (%v): want none", libs, err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(ctxDir)) {
		t.Errorf("the binary contains the build directory %s: want -trimpath", ctxDir)
	}
}

// ---------------------------------------------------------------- deploy/

const (
	appLabel    = "app.kubernetes.io/name"
	appName     = "clusterdns"
	imageName   = "ghcr.io/clusterdns/clusterdns"
	healthPath  = "/health"
	readyPath   = "/ready"
	portSysctl  = "net.ipv4.ip_unprivileged_port_start"
	kustomizeV1 = "kustomize.config.k8s.io/v1beta1"
	componentV1 = "kustomize.config.k8s.io/v1alpha1"
)

// readVerbs are all clusterdns may do; baseResources is what it reads in
// every mode, podResources only with --pod-records verified.
var (
	readVerbs     = []string{"get", "list", "watch"}
	baseResources = []string{"/namespaces", "/services", "discovery.k8s.io/endpointslices"}
	podResources  = []string{"/pods"}
	// importResources are what multicluster zones read.
	importResources = []string{"multicluster.x-k8s.io/serviceimports"}
)

type kustomization struct {
	APIVersion        string            `json:"apiVersion"`
	Kind              string            `json:"kind"`
	Namespace         string            `json:"namespace,omitempty"`
	NamePrefix        string            `json:"namePrefix,omitempty"`
	NameSuffix        string            `json:"nameSuffix,omitempty"`
	Resources         []string          `json:"resources,omitempty"`
	Components        []string          `json:"components,omitempty"`
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`
	Labels            []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
		IncludeTemplates bool              `json:"includeTemplates,omitempty"`
	} `json:"labels,omitempty"`
	Images   []kustomizeImage `json:"images,omitempty"`
	Replicas []struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	} `json:"replicas,omitempty"`
	Patches []struct {
		Path   string `json:"path,omitempty"`
		Patch  string `json:"patch,omitempty"`
		Target *struct {
			Group              string `json:"group,omitempty"`
			Version            string `json:"version,omitempty"`
			Kind               string `json:"kind,omitempty"`
			Name               string `json:"name,omitempty"`
			Namespace          string `json:"namespace,omitempty"`
			LabelSelector      string `json:"labelSelector,omitempty"`
			AnnotationSelector string `json:"annotationSelector,omitempty"`
		} `json:"target,omitempty"`
		Options map[string]bool `json:"options,omitempty"`
	} `json:"patches,omitempty"`
}

type kustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	From  string `json:"from,omitempty"`
	Value any    `json:"value,omitempty"`
}

// deployObjects is one rendered (or hand-assembled) set of manifests.
type deployObjects struct {
	all          []metaObject
	sa           *corev1.ServiceAccount
	deployment   *appsv1.Deployment
	service      *corev1.Service
	roles        map[string]*rbacv1.ClusterRole
	bindings     []*rbacv1.ClusterRoleBinding
	kustomize    []*kustomization
	jsonPatchOps int
}

type metaObject struct {
	where, kind, name, namespace string
	labels                       map[string]string
}

// splitYAML returns the non-empty documents of a YAML stream.
func splitYAML(t *testing.T, where string, data []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if len(bytes.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAll(doc, nil))) != 0 {
			docs = append(docs, doc)
		}
	}
}

// decode adds one YAML document to objs, decoded strictly into its type:
// a misspelt field fails here instead of being dropped by the API server.
func (objs *deployObjects) decode(t *testing.T, where string, doc []byte) {
	t.Helper()
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	strict := func(v any) bool {
		if err := yaml.UnmarshalStrict(doc, v); err != nil {
			t.Errorf("%s: %s: %v", where, head.Kind, err)
			return false
		}
		return true
	}
	want := map[string]string{
		"ServiceAccount": "v1", "Service": "v1", "Deployment": "apps/v1", "Job": "batch/v1",
		"ClusterRole": "rbac.authorization.k8s.io/v1", "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
		"Kustomization": kustomizeV1, "Component": componentV1,
	}
	if v, ok := want[head.Kind]; !ok {
		t.Errorf("%s: unexpected kind %q (add it to this test if it belongs here)", where, head.Kind)
		return
	} else if head.APIVersion != v {
		t.Errorf("%s: %s apiVersion %q, want %q", where, head.Kind, head.APIVersion, v)
	}
	var meta metaObject
	switch head.Kind {
	case "ServiceAccount":
		o := &corev1.ServiceAccount{}
		if strict(o) {
			objs.sa, meta = o, metaObject{name: o.Name, namespace: o.Namespace, labels: o.Labels}
		}
	case "Service":
		o := &corev1.Service{}
		if strict(o) {
			objs.service, meta = o, metaObject{name: o.Name, namespace: o.Namespace, labels: o.Labels}
		}
	case "Deployment":
		o := &appsv1.Deployment{}
		if strict(o) {
			objs.deployment, meta = o, metaObject{name: o.Name, namespace: o.Namespace, labels: o.Labels}
		}
	case "Job":
		o := &batchv1.Job{}
		if strict(o) {
			meta = metaObject{name: o.Name, namespace: o.Namespace, labels: o.Labels}
		}
	case "ClusterRole":
		o := &rbacv1.ClusterRole{}
		if strict(o) {
			objs.roles[o.Name], meta = o, metaObject{name: o.Name, namespace: o.Namespace, labels: o.Labels}
		}
	case "ClusterRoleBinding":
		o := &rbacv1.ClusterRoleBinding{}
		if strict(o) {
			objs.bindings, meta = append(objs.bindings, o), metaObject{name: o.Name, namespace: o.Namespace, labels: o.Labels}
		}
	case "Kustomization", "Component":
		k := &kustomization{}
		if !strict(k) {
			return
		}
		objs.kustomize = append(objs.kustomize, k)
		for i, p := range k.Patches {
			if strings.TrimSpace(p.Patch) == "" {
				continue
			}
			pw := fmt.Sprintf("%s: patches[%d]", where, i)
			if strings.HasPrefix(strings.TrimSpace(p.Patch), "-") {
				var ops []jsonPatchOp
				if err := yaml.UnmarshalStrict([]byte(p.Patch), &ops); err != nil {
					t.Errorf("%s: JSON patch: %v", pw, err)
				}
				for _, op := range ops {
					if !slices.Contains([]string{"add", "remove", "replace", "move", "copy", "test"}, op.Op) || !strings.HasPrefix(op.Path, "/") {
						t.Errorf("%s: bad JSON patch op %+v", pw, op)
					}
				}
				objs.jsonPatchOps += len(ops)
				continue
			}
			// A strategic merge patch is a partial object of its kind.
			patch := &deployObjects{roles: map[string]*rbacv1.ClusterRole{}}
			patch.decode(t, pw, []byte(p.Patch))
		}
		return
	}
	meta.where, meta.kind = where, head.Kind
	objs.all = append(objs.all, meta)
}

// baseObjects reads deploy/base by hand (no kustomize needed).
func baseObjects(t *testing.T, root string) *deployObjects {
	t.Helper()
	dir := filepath.Join(root, "deploy", "base")
	objs := &deployObjects{roles: map[string]*rbacv1.ClusterRole{}}
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs.decode(t, "deploy/base/kustomization.yaml", data)
	if len(objs.kustomize) != 1 {
		t.Fatalf("deploy/base/kustomization.yaml: not a Kustomization")
	}
	k := objs.kustomize[0]
	if k.Namespace != "" {
		t.Errorf("deploy/base sets namespace %q: the base is namespace-agnostic", k.Namespace)
	}
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			t.Fatalf("deploy/base resource %s: %v (the base holds files only)", r, err)
		}
		for i, doc := range splitYAML(t, r, data) {
			objs.decode(t, fmt.Sprintf("deploy/base/%s: document %d", r, i), doc)
		}
	}
	if objs.deployment == nil || len(objs.deployment.Spec.Template.Spec.Containers) == 0 {
		t.Fatalf("deploy/base: no Deployment with a container")
	}
	return objs
}

// TestDeployManifestFiles decodes every YAML file under deploy/ and checks
// that every file is a kustomization or something one of them uses.
func TestDeployManifestFiles(t *testing.T) {
	root := repoRoot(t)
	deploy := filepath.Join(root, "deploy")
	var files []string
	used := map[string]bool{}
	err := filepath.WalkDir(deploy, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no YAML under deploy/")
	}
	for _, file := range files {
		rel, _ := filepath.Rel(root, file)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		objs := &deployObjects{roles: map[string]*rbacv1.ClusterRole{}}
		docs := splitYAML(t, rel, data)
		if len(docs) == 0 {
			t.Errorf("%s: empty", rel)
		}
		for i, doc := range docs {
			objs.decode(t, fmt.Sprintf("%s: document %d", rel, i), doc)
		}
		for _, o := range objs.all {
			if o.labels[appLabel] != appName {
				t.Errorf("%s: %s %s lacks label %s: %s", rel, o.kind, o.name, appLabel, appName)
			}
			if o.namespace != "" {
				t.Errorf("%s: %s %s sets namespace %q: leave namespaces to kustomizations", rel, o.kind, o.name, o.namespace)
			}
		}
		for _, o := range objs.roles {
			checkReadOnlyRole(t, rel, o)
		}
		if filepath.Base(file) != "kustomization.yaml" {
			continue
		}
		used[file] = true
		for _, k := range objs.kustomize {
			dir := filepath.Dir(file)
			if (k.Kind == "Component") != strings.Contains(filepath.ToSlash(rel), "/components/") {
				t.Errorf("%s: kind %s: components live under deploy/components/, nothing else does", rel, k.Kind)
			}
			for _, r := range k.Resources {
				p := filepath.Join(dir, r)
				st, err := os.Stat(p)
				switch {
				case err != nil:
					t.Errorf("%s: resource %s: %v", rel, r, err)
				case st.IsDir():
					if _, err := os.Stat(filepath.Join(p, "kustomization.yaml")); err != nil {
						t.Errorf("%s: resource %s: a directory without kustomization.yaml", rel, r)
					}
				default:
					used[p] = true
				}
			}
			for _, c := range k.Components {
				if _, err := os.Stat(filepath.Join(dir, c, "kustomization.yaml")); err != nil {
					t.Errorf("%s: component %s: %v", rel, c, err)
				}
			}
			for _, p := range k.Patches {
				if p.Path != "" {
					used[filepath.Join(dir, p.Path)] = true
				}
			}
		}
	}
	for _, file := range files {
		if !used[file] {
			rel, _ := filepath.Rel(root, file)
			t.Errorf("%s: no kustomization uses it", rel)
		}
	}
}

// TestDeployBase checks deploy/base without kustomize.
func TestDeployBase(t *testing.T) {
	root := repoRoot(t)
	objs := baseObjects(t, root)
	checkDeployObjects(t, "deploy/base", objs, deployWant{podRecords: "disabled", listenPort: 5353})
	k := objs.kustomize[0]
	img := objs.deployment.Spec.Template.Spec.Containers[0].Image
	if !slices.ContainsFunc(k.Images, func(i kustomizeImage) bool { return i.Name == imageName }) {
		t.Errorf("deploy/base/kustomization.yaml: no images: entry for %s, so users cannot pin it", imageName)
	}
	if img != imageName+":latest" {
		t.Errorf("image %q, want %s:latest (pinned through kustomize images:)", img, imageName)
	}
	d := objs.deployment.Spec.Template.Spec
	if d.PriorityClassName != "" {
		t.Errorf("base priorityClassName %q: leave it to overlays", d.PriorityClassName)
	}
	if r := objs.deployment.Spec.Replicas; r == nil || *r != 2 {
		t.Errorf("base replicas %v, want 2", r)
	}
	if objs.service.Spec.ClusterIP != "" {
		t.Errorf("base Service pins clusterIP %s", objs.service.Spec.ClusterIP)
	}
	a := d.Affinity
	if a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 ||
		a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("base: want preferred pod anti-affinity on kubernetes.io/hostname")
	}
}

type deployWant struct {
	namespace     string // "" for the base
	podRecords    string
	listenPort    int
	ttl           string // "" = not checked
	priorityClass string
	kubeDNSLabel  bool // pods carry k8s-app=kube-dns
	// multicluster is the --multicluster-zone wanted ("" none).
	multicluster string
}

func checkReadOnlyRole(t *testing.T, where string, r *rbacv1.ClusterRole) {
	t.Helper()
	if r.AggregationRule != nil {
		t.Errorf("%s: ClusterRole %s aggregates", where, r.Name)
	}
	for _, rule := range r.Rules {
		for _, v := range rule.Verbs {
			if !slices.Contains(readVerbs, v) {
				t.Errorf("%s: ClusterRole %s grants %q: only get, list and watch", where, r.Name, v)
			}
		}
		// A non-resource URL is allowed when it is one exact path read
		// with get (the doctor's /metrics of the API server).
		exactURLs := !slices.ContainsFunc(rule.NonResourceURLs, func(u string) bool { return strings.Contains(u, "*") }) &&
			(len(rule.NonResourceURLs) == 0 || slices.Equal(rule.Verbs, []string{"get"}) && len(rule.Resources) == 0)
		if !exactURLs || len(rule.ResourceNames) != 0 ||
			slices.Contains(rule.APIGroups, "*") || slices.Contains(rule.Resources, "*") {
			t.Errorf("%s: ClusterRole %s: rule %+v is wider than named resources", where, r.Name, rule)
		}
	}
}

// resolvePort is the container port a Service targetPort or probe port means.
func resolvePort(c corev1.Container, p intstr.IntOrString, proto corev1.Protocol) int {
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal && (proto == "" || cp.Protocol == proto || cp.Protocol == "" && proto == corev1.ProtocolTCP) {
			return int(cp.ContainerPort)
		}
	}
	return -1
}

func isSubset(sub, of map[string]string) bool {
	if len(sub) == 0 {
		return false
	}
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return true
}

func checkDeployObjects(t *testing.T, where string, objs *deployObjects, want deployWant) {
	t.Helper()
	if objs.sa == nil || objs.deployment == nil || objs.service == nil {
		t.Fatalf("%s: want a ServiceAccount, a Deployment and a Service", where)
	}
	for _, o := range objs.all {
		if o.labels[appLabel] != appName {
			t.Errorf("%s: %s %s lacks label %s: %s", where, o.kind, o.name, appLabel, appName)
		}
		namespaced := o.kind != "ClusterRole" && o.kind != "ClusterRoleBinding"
		if namespaced && o.namespace != want.namespace || !namespaced && o.namespace != "" {
			t.Errorf("%s: %s %s in namespace %q, want %q", where, o.kind, o.name, o.namespace, want.namespace)
		}
	}
	d := objs.deployment
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: want one container, got %d", where, len(pod.Containers))
	}
	c := pod.Containers[0]
	args := append(slices.Clone(c.Command), c.Args...)

	// The command line the binary will run is one it accepts.
	checkServeArgs(t, where+" Deployment args", args)
	listen, ok1 := flagValue(args, "listen")
	health, ok2 := flagValue(args, "health-addr")
	if !ok1 || !ok2 {
		t.Fatalf("%s: args %q: want --listen and --health-addr", where, args)
	}
	lp, hp := addrPort(t, "--listen", listen), addrPort(t, "--health-addr", health)
	if lp != want.listenPort {
		t.Errorf("%s: --listen %s, want port %d", where, listen, want.listenPort)
	}
	if pr, _ := flagValue(args, "pod-records"); pr != want.podRecords && !(pr == "" && want.podRecords == "disabled") {
		t.Errorf("%s: --pod-records %q, want %q", where, pr, want.podRecords)
	}
	if mc, _ := flagValue(args, "multicluster-zone"); mc != want.multicluster {
		t.Errorf("%s: --multicluster-zone %q, want %q", where, mc, want.multicluster)
	}
	if want.ttl != "" {
		if ttl, _ := flagValue(args, "ttl"); ttl != want.ttl {
			t.Errorf("%s: --ttl %q, want %q", where, ttl, want.ttl)
		}
	}
	if ic, _ := flagValue(args, "in-cluster"); ic != "true" || slices.ContainsFunc(args, func(a string) bool {
		return strings.HasPrefix(a, "--manifests") || strings.HasPrefix(a, "--kubeconfig")
	}) {
		t.Errorf("%s: args %q: want --in-cluster (without it a pod with no token would serve the embedded example)", where, args)
	}
	if lf, _ := flagValue(args, "log-format"); lf != "json" {
		t.Errorf("%s: --log-format %q, want json", where, lf)
	}
	if len(args) > 0 {
		seen := map[string]bool{}
		for _, a := range args[1:] {
			n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if strings.HasPrefix(a, "--") && n != "zone" && n != "reverse-zone" && n != "multicluster-zone" && seen[n] {
				t.Errorf("%s: --%s given twice: overlays replace arguments, they do not append", where, n)
			}
			seen[n] = true
		}
	}

	// DNS: the container serves --listen on UDP and TCP, and the Service sends
	// port 53 of both to it.
	for _, proto := range []corev1.Protocol{corev1.ProtocolUDP, corev1.ProtocolTCP} {
		if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool {
			return int(p.ContainerPort) == lp && (p.Protocol == proto || p.Protocol == "" && proto == corev1.ProtocolTCP)
		}) {
			t.Errorf("%s: no %s containerPort %d (the --listen port)", where, proto, lp)
		}
		i := slices.IndexFunc(objs.service.Spec.Ports, func(p corev1.ServicePort) bool {
			return p.Port == 53 && (p.Protocol == proto || p.Protocol == "" && proto == corev1.ProtocolTCP)
		})
		if i < 0 {
			t.Errorf("%s: Service has no %s port 53", where, proto)
			continue
		}
		sp := objs.service.Spec.Ports[i]
		if wantName := map[corev1.Protocol]string{corev1.ProtocolUDP: "dns", corev1.ProtocolTCP: "dns-tcp"}[proto]; sp.Name != wantName {
			t.Errorf("%s: Service %s port named %q, want %q", where, proto, sp.Name, wantName)
		}
		if got := resolvePort(c, sp.TargetPort, proto); got != lp {
			t.Errorf("%s: Service %s targetPort %s is container port %d, but --listen is %s", where, proto, sp.TargetPort.String(), got, listen)
		}
	}
	if !isSubset(objs.service.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("%s: Service selector %v does not select the pods %v", where, objs.service.Spec.Selector, d.Spec.Template.Labels)
	}
	if d.Spec.Selector == nil || !isSubset(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) || len(d.Spec.Selector.MatchExpressions) != 0 {
		t.Errorf("%s: Deployment selector does not match its pod labels", where)
	}

	// Metrics: when served beyond localhost, a `metrics` port reaches them.
	if m, ok := flagValue(args, "metrics-addr"); ok && m != "" {
		mp := addrPort(t, "--metrics-addr", m)
		if resolvePort(c, intstr.FromString("metrics"), corev1.ProtocolTCP) != mp {
			t.Errorf("%s: --metrics-addr %s but no containerPort named metrics on %d", where, m, mp)
		}
		for _, sp := range objs.service.Spec.Ports {
			if sp.Name == "metrics" && resolvePort(c, sp.TargetPort, corev1.ProtocolTCP) != mp {
				t.Errorf("%s: Service metrics targetPort %s is not --metrics-addr %s", where, sp.TargetPort.String(), m)
			}
		}
	}

	// Probes: /ready and /health on the --health-addr port.
	for _, p := range []struct {
		what  string
		probe *corev1.Probe
		path  string
	}{{"readinessProbe", c.ReadinessProbe, readyPath}, {"livenessProbe", c.LivenessProbe, healthPath}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: no %s httpGet", where, p.what)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: %s path %q, want %s", where, p.what, p.probe.HTTPGet.Path, p.path)
		}
		if got := resolvePort(c, p.probe.HTTPGet.Port, corev1.ProtocolTCP); got != hp {
			t.Errorf("%s: %s port %s is %d, but --health-addr is %s", where, p.what, p.probe.HTTPGet.Port.String(), got, health)
		}
	}

	// Non-root, no capabilities, read-only, RuntimeDefault seccomp.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	nonRoot := psc.RunAsNonRoot
	if sc.RunAsNonRoot != nil {
		nonRoot = sc.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		t.Errorf("%s: runAsNonRoot is not set", where)
	}
	for _, uid := range []*int64{psc.RunAsUser, sc.RunAsUser} {
		if uid != nil && *uid == 0 {
			t.Errorf("%s: runAsUser 0", where)
		}
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem is not true", where)
	}
	if sc.Privileged != nil && *sc.Privileged || pod.HostNetwork {
		t.Errorf("%s: privileged or hostNetwork", where)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) != 0 {
		t.Errorf("%s: want capabilities drop [ALL] and nothing added", where)
	}
	seccomp := psc.SeccompProfile
	if sc.SeccompProfile != nil {
		seccomp = sc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: want seccompProfile RuntimeDefault", where)
	}
	// Without capabilities, a port below 1024 needs the pod's unprivileged
	// port range lowered.
	if lp < 1024 {
		i := slices.IndexFunc(psc.Sysctls, func(s corev1.Sysctl) bool { return s.Name == portSysctl })
		if n, err := strconv.Atoi(func() string {
			if i < 0 {
				return ""
			}
			return psc.Sysctls[i].Value
		}()); err != nil || n > lp {
			t.Errorf("%s: --listen port %d below 1024 without capabilities needs sysctl %s <= %d", where, lp, portSysctl, lp)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: want cpu and memory requests and a memory limit", where)
	}
	if name, _, _ := strings.Cut(c.Image, ":"); name != imageName {
		t.Errorf("%s: image %q, want %s", where, c.Image, imageName)
	}
	if pod.PriorityClassName != want.priorityClass {
		t.Errorf("%s: priorityClassName %q, want %q", where, pod.PriorityClassName, want.priorityClass)
	}
	if got := d.Spec.Template.Labels["k8s-app"] == "kube-dns"; got != want.kubeDNSLabel {
		t.Errorf("%s: pods labelled k8s-app=kube-dns: %v, want %v", where, got, want.kubeDNSLabel)
	}
	// kubeadm finds its DNS add-on by listing kube-system Deployments labelled
	// k8s-app=kube-dns and fails on more than one (kubeadm upgrade): only the
	// pods may carry that label.
	if _, ok := d.Labels["k8s-app"]; ok {
		t.Errorf("%s: the Deployment itself is labelled k8s-app: kubeadm would take it for a second DNS add-on", where)
	}

	// RBAC: read-only, and exactly what --pod-records needs.
	if pod.ServiceAccountName != objs.sa.Name {
		t.Errorf("%s: serviceAccountName %q, ServiceAccount is %q", where, pod.ServiceAccountName, objs.sa.Name)
	}
	if pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken {
		t.Errorf("%s: the in-cluster config needs the service account token", where)
	}
	subjectNS := want.namespace
	if subjectNS == "" {
		subjectNS = "default"
	}
	granted := map[string]bool{}
	for _, b := range objs.bindings {
		if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.APIGroup != rbacv1.GroupName || objs.roles[b.RoleRef.Name] == nil {
			t.Errorf("%s: ClusterRoleBinding %s refers to %+v, which is not here", where, b.Name, b.RoleRef)
			continue
		}
		if len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != objs.sa.Name || b.Subjects[0].Namespace != subjectNS {
			t.Errorf("%s: ClusterRoleBinding %s subjects %+v, want ServiceAccount %s/%s", where, b.Name, b.Subjects, subjectNS, objs.sa.Name)
		}
		for _, rule := range objs.roles[b.RoleRef.Name].Rules {
			for _, g := range rule.APIGroups {
				for _, r := range rule.Resources {
					granted[g+"/"+r] = true
				}
			}
		}
	}
	for _, r := range objs.roles {
		checkReadOnlyRole(t, where, r)
	}
	wantRes := slices.Clone(baseResources)
	if want.podRecords == "verified" {
		wantRes = append(wantRes, podResources...)
	}
	if want.multicluster != "" {
		wantRes = append(wantRes, importResources...)
	}
	slices.Sort(wantRes)
	var got []string
	for r := range granted {
		got = append(got, r)
	}
	slices.Sort(got)
	if !slices.Equal(got, wantRes) {
		t.Errorf("%s: the ServiceAccount may read %q, want exactly %q", where, got, wantRes)
	}
}

// kustomizeBuild renders dir with kustomize, or kubectl's built-in one.
func kustomizeBuild(t *testing.T, dir string) []byte {
	t.Helper()
	var cmd *exec.Cmd
	if p, err := exec.LookPath("kustomize"); err == nil {
		cmd = exec.Command(p, "build", dir)
	} else if p, err := exec.LookPath("kubectl"); err == nil {
		cmd = exec.Command(p, "kustomize", dir)
	} else {
		t.Skip("neither kustomize nor kubectl on PATH")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	return out
}

// TestDeployOverlays renders the base, every overlay and the components, and
// checks each result.
func TestDeployOverlays(t *testing.T) {
	root := repoRoot(t)
	deploy := filepath.Join(root, "deploy")
	kubeadm := deployWant{namespace: "kube-system", podRecords: "insecure", listenPort: 5353, ttl: "30", priorityClass: "system-cluster-critical"}
	takeover := kubeadm
	takeover.listenPort, takeover.kubeDNSLabel = 53, true
	verified := func(w deployWant) deployWant { w.podRecords = "verified"; return w }

	cases := map[string]deployWant{
		".":                               {podRecords: "disabled", listenPort: 5353, ttl: "5"},
		"overlays/kubeadm-behind-coredns": kubeadm,
		"overlays/kubeadm-kube-system":    takeover,
	}
	// Components are used from a throwaway overlay outside deploy/.
	composed := []struct {
		resource   string
		components []string
		want       deployWant
	}{
		{"base", []string{"verified-pods"}, verified(deployWant{podRecords: "disabled", listenPort: 5353, ttl: "5"})},
		{"base", []string{"kube-dns-takeover"}, deployWant{podRecords: "disabled", listenPort: 53, ttl: "5", kubeDNSLabel: true}},
		{"overlays/kubeadm-kube-system", []string{"verified-pods"}, verified(takeover)},
		{"base", []string{"multicluster"}, deployWant{podRecords: "disabled", listenPort: 5353, ttl: "5", multicluster: "clusterset.local"}},
	}
	overlays, _ := os.ReadDir(filepath.Join(deploy, "overlays"))
	for _, o := range overlays {
		if _, ok := cases["overlays/"+o.Name()]; o.IsDir() && !ok && !checkedElsewhere[o.Name()] {
			t.Errorf("deploy/overlays/%s: not checked by this test; add its expectations", o.Name())
		}
	}
	checked := map[string]bool{}
	for _, c := range composed {
		for _, name := range c.components {
			checked[name] = true
		}
	}
	components, _ := os.ReadDir(filepath.Join(deploy, "components"))
	for _, c := range components {
		if c.IsDir() && !checked[c.Name()] {
			t.Errorf("deploy/components/%s: not checked by this test; add its expectations", c.Name())
		}
	}

	check := func(t *testing.T, where string, rendered []byte, want deployWant) {
		objs := &deployObjects{roles: map[string]*rbacv1.ClusterRole{}}
		for i, doc := range splitYAML(t, where, rendered) {
			objs.decode(t, fmt.Sprintf("%s: document %d", where, i), doc)
		}
		checkDeployObjects(t, where, objs, want)
	}
	for dir, want := range cases {
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			check(t, "deploy/"+dir, kustomizeBuild(t, filepath.Join(deploy, dir)), want)
		})
	}
	for _, wc := range composed {
		name := wc.resource + "+" + strings.Join(wc.components, "+")
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			// kustomize wants relative paths, and refuses a base that contains
			// the overlay: the throwaway overlay lives in a temporary directory.
			tmp := t.TempDir()
			rel := func(p string) string {
				r, err := filepath.Rel(tmp, filepath.Join(deploy, p))
				if err != nil {
					t.Skipf("no relative path from %s to deploy/: %v", tmp, err)
				}
				return filepath.ToSlash(r)
			}
			var k strings.Builder
			fmt.Fprintf(&k, "apiVersion: %s\nkind: Kustomization\nresources:\n  - %s\ncomponents:\n", kustomizeV1, rel(wc.resource))
			for _, c := range wc.components {
				fmt.Fprintf(&k, "  - %s\n", rel("components/"+c))
			}
			if err := os.WriteFile(filepath.Join(tmp, "kustomization.yaml"), []byte(k.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			check(t, name, kustomizeBuild(t, tmp), wc.want)
		})
	}
}
