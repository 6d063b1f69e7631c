package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/jobmanager/jobmanager/job"
)

// composeFile is the stack's file, from this package's directory.
var composeFile = filepath.Join("..", "docker-compose.yml")

// composeService is the part of a service the checks read, from `docker-compose config`
// output (anchors merged, variables filled in, short forms expanded).
type composeService struct {
	Image       string                       `json:"image"`
	Build       *struct{ Target string }     `json:"build"`
	Command     []string                     `json:"command"`
	Entrypoint  []string                     `json:"entrypoint"`
	Environment map[string]string            `json:"environment"`
	DependsOn   map[string]map[string]string `json:"depends_on"`
	Healthcheck *struct{ Test []string }     `json:"healthcheck"`
	Deploy      *struct{ Replicas int }      `json:"deploy"`
	Profiles    []string                     `json:"profiles"`
	Restart     string                       `json:"restart"`
	Ports       []any                        `json:"ports"`
}

// composeConfig runs docker-compose (Debian's package, 1.29) to validate the file and
// returns its resolved form. No container engine runs here: `config` needs none.
func composeConfig(t *testing.T, env ...string) map[string]composeService {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	require.NoError(t, err, "docker-compose is not installed: apt-get install -y docker-compose "+
		"(deploy/ensure-packages --ci does it); the compose file is validated with it")
	run := func(args ...string) []byte {
		cmd := exec.Command(bin, append([]string{"--project-directory", "..", "-f", composeFile, "--profile", "demo"}, args...)...)
		// Only the variables given: a developer's shell or .env must not change the result.
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "docker-compose %s: %s", strings.Join(args, " "), stderr.String())
		require.NotContains(t, stderr.String(), "WARNING", "docker-compose warned")
		return out
	}
	run("config", "-q")
	var cfg struct {
		Services map[string]composeService `json:"services"`
	}
	require.NoError(t, yaml.Unmarshal(run("config"), &cfg))
	return cfg.Services
}

func TestComposeStack(t *testing.T) {
	services := composeConfig(t)

	want := []string{"postgres", "temporal-postgres", "temporal-schema", "temporal", "temporal-setup", "temporal-ui",
		"migrate", "api", "proxy", "worker", "mailbox", "mailpit", "bezahlsim", "seed"}
	var got []string
	for name := range services {
		got = append(got, name)
	}
	require.ElementsMatch(t, want, got)

	// One-shot services run to completion; everything else runs on and says when it
	// is healthy, so depends_on can wait for it.
	oneShots := []string{"temporal-schema", "temporal-setup", "migrate", "seed"}
	for name, s := range services {
		if slices.Contains(oneShots, name) {
			require.Nil(t, s.Healthcheck, "%s runs once; a health check means nothing there", name)
			require.True(t, strings.HasPrefix(s.Restart, "on-failure"), "%s: restart on failure only, got %q", name, s.Restart)
			continue
		}
		require.NotNil(t, s.Healthcheck, "%s has no health check", name)
		require.NotEmpty(t, s.Healthcheck.Test, "%s has an empty health check", name)
		require.Equal(t, "unless-stopped", s.Restart, name)
		for dep, cond := range s.DependsOn {
			require.Contains(t, services, dep, "%s depends on an unknown service", name)
			switch cond["condition"] {
			case "service_healthy":
				require.NotNil(t, services[dep].Healthcheck, "%s waits for %s to be healthy, which has no health check", name, dep)
			case "service_completed_successfully":
				require.Contains(t, oneShots, dep, "%s waits for %s to complete, which runs on", name, dep)
			default:
				t.Fatalf("%s depends on %s without a condition (%q): start order would be a race", name, dep, cond["condition"])
			}
		}
	}

	// The application runs replicated, after its migrations and Temporal's setup.
	for _, name := range []string{"api", "worker"} {
		s := services[name]
		require.NotNil(t, s.Deploy, name)
		require.Equal(t, 2, s.Deploy.Replicas, "%s replicas", name)
		require.Empty(t, s.Ports, "%s: a replicated service publishes no fixed host port", name)
		require.Equal(t, name, s.Build.Target, "%s builds its own Dockerfile target", name)
		require.Equal(t, "service_completed_successfully", s.DependsOn["migrate"]["condition"], name)
		require.Equal(t, "service_completed_successfully", s.DependsOn["temporal-setup"]["condition"], name)
		require.Equal(t, "temporal:7233", s.Environment["TEMPORAL_ADDRESS"], name)
		require.Contains(t, s.Environment["DATABASE_URL"], "@postgres:5432/", name)
		require.Equal(t, "development", s.Environment["JOBMANAGER_ENV"], "%s: the stack defaults to development", name)
	}
	// The health checks probe the ports the processes listen on, through the binary
	// itself: the distroless image has no shell and no curl.
	probe := func(name, addrVar string) {
		s := services[name]
		port := s.Environment[addrVar][strings.LastIndex(s.Environment[addrVar], ":")+1:]
		require.Equal(t, []string{"CMD", "/usr/local/bin/jobmanager", "healthcheck", "http://127.0.0.1:" + port + "/readyz"},
			s.Healthcheck.Test, name)
	}
	probe("api", "API_ADDR")
	probe("worker", "METRICS_ADDR")
	require.Equal(t, "service_healthy", services["proxy"].DependsOn["api"]["condition"])

	// Temporal: server 1.29 like the dev server of the tests, its schema first, then the
	// namespace and every search attribute JobWorkflow sets.
	require.Regexp(t, `^temporalio/server:1\.29\.\d+$`, services["temporal"].Image)
	require.Equal(t, "service_completed_successfully", services["temporal"].DependsOn["temporal-schema"]["condition"])
	require.Equal(t, "postgres12", services["temporal"].Environment["DB"])
	setup := strings.Join(services["temporal-setup"].Command, "\n")
	for _, name := range job.SearchAttributes {
		require.Regexp(t, regexp.MustCompile(`\b`+name+`\b`), setup, "temporal-setup registers %s", name)
	}
	require.Contains(t, setup, "--type Keyword")
	ui := services["temporal-ui"].Environment
	require.Equal(t, "http://localhost:8080/api/v1/codec", ui["TEMPORAL_CODEC_ENDPOINT"])
	require.Equal(t, "true", ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"])
	require.Equal(t, "http://localhost:8233", services["api"].Environment["TEMPORAL_UI_ORIGIN"],
		"the API must allow Temporal UI's origin on the codec endpoint")

	// E-mail goes to the catcher; the simulator and demo data only with --profile demo.
	require.Equal(t, "mailpit", services["worker"].Environment["SMTP_HOST"])
	for _, name := range []string{"bezahlsim", "seed"} {
		require.Equal(t, []string{"demo"}, services[name].Profiles, name)
	}
	require.Equal(t, []string{"/usr/local/bin/bezahlsim"}, services["bezahlsim"].Entrypoint)
	// Pay links must open in a browser, not at the container's 0.0.0.0; the seed
	// registers the demo webhook at the API as the simulator reaches it.
	require.Contains(t, strings.Join(services["bezahlsim"].Command, " "), "-public-url http://localhost:8090")
	require.Equal(t, "http://api:8080", services["seed"].Environment["SEED_BEZAHL_WEBHOOK_BASE"])
	require.Contains(t, services["seed"].DependsOn, "bezahlsim")
}

// TestComposeProductionSettings: the variables of .env reach the processes, so the same
// file runs with real keys and production mode.
func TestComposeProductionSettings(t *testing.T) {
	services := composeConfig(t, "JOBMANAGER_ENV=production", "PUBLIC_URL=https://jobs.example.com",
		"PAYLOAD_KEYS=k1:AAAA", "SECURE_COOKIES=1")
	api := services["api"].Environment
	require.Equal(t, "production", api["JOBMANAGER_ENV"])
	require.Equal(t, "k1:AAAA", api["PAYLOAD_KEYS"])
	require.Equal(t, "1", api["SECURE_COOKIES"])
	require.Equal(t, "https://jobs.example.com/api/v1/codec", services["temporal-ui"].Environment["TEMPORAL_CODEC_ENDPOINT"])
}

// TestEnvExample: .env.example names every variable the compose file reads, so a copy
// of it is the whole list of what can be set.
func TestEnvExample(t *testing.T) {
	compose, err := os.ReadFile(composeFile)
	require.NoError(t, err)
	example, err := os.ReadFile(filepath.Join("..", ".env.example"))
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(string(compose), -1) {
		require.Regexp(t, regexp.MustCompile(`(?m)^#? ?`+m[1]+`=`), string(example), ".env.example lacks %s", m[1])
	}
}

// TestDockerfile reads the Dockerfile as text: a build stage with the toolchain, a
// static binary, and final images on distroless that run as a numeric non-root user.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	require.NoError(t, err)
	text := string(raw)
	stages := map[string]string{} // name -> base
	var order []string
	for _, m := range regexp.MustCompile(`(?mi)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?`).FindAllStringSubmatch(text, -1) {
		stages[m[2]] = m[1]
		order = append(order, m[2])
	}
	require.GreaterOrEqual(t, len(stages), 2, "multi-stage build")
	require.Regexp(t, `^golang:1\.26`, stages["build"], "the build stage has Go 1.26")
	require.Regexp(t, `^gcr\.io/distroless/static`, stages["runtime"], "the runtime has no shell and no libc")
	require.Equal(t, "runtime", stages["api"])
	require.Equal(t, "runtime", stages["worker"])
	require.Equal(t, "api", order[len(order)-1], "a plain docker build gives the API image")
	builds := regexp.MustCompile(`(?m)^RUN .*go build.*$|^\s+CGO_ENABLED.*go build.*$`).FindAllString(text, -1)
	// Without a match the loop below would check nothing.
	require.NotEmpty(t, builds, "no go build line found in the Dockerfile")
	for _, line := range builds {
		require.Contains(t, line, "CGO_ENABLED=0", "static binary: %s", line)
	}
	require.Contains(t, text, "./cmd/jobmanager")
	require.Contains(t, text, "COPY --from=build /out/jobmanager /usr/local/bin/jobmanager")
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(text, -1)
	require.NotEmpty(t, users)
	for _, u := range users {
		uid, _, _ := strings.Cut(u[1], ":")
		require.Regexp(t, `^[1-9][0-9]*$`, uid, "USER %s: numeric and not root, so runAsNonRoot can verify it", u[1])
	}
	ignore, err := os.ReadFile(filepath.Join("..", ".dockerignore"))
	require.NoError(t, err)
	for _, p := range []string{".git", "data/", "bin/", ".env"} {
		require.Contains(t, strings.Fields(string(ignore)), p, ".dockerignore keeps %s out of the build context", p)
	}
}
