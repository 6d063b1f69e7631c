package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/jobmanager/jobmanager/job"
)

const manifestDir = "kubernetes"

// kinds maps apiVersion/kind to the Go type a manifest decodes into. A manifest of any
// other kind fails the test: add its type here first.
var kinds = map[string]func() any{
	"v1/Namespace":                  func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                  func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                     func() any { return &corev1.Secret{} },
	"v1/Service":                    func() any { return &corev1.Service{} },
	"apps/v1/Deployment":            func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                  func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget": func() any { return &policyv1.PodDisruptionBudget{} },
}

// manifests decodes every object in the files kustomization.yaml lists, strictly: an
// unknown or misspelt field is an error, as `kubectl apply --validate=strict` would say.
func manifests(t *testing.T) []any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(manifestDir, "kustomization.yaml"))
	require.NoError(t, err)
	// The fields this kustomization uses; strict decoding fails on any other, so a new
	// one gets a look here first.
	var kust struct {
		APIVersion string              `json:"apiVersion"`
		Kind       string              `json:"kind"`
		Namespace  string              `json:"namespace"`
		Labels     []map[string]any    `json:"labels"`
		Resources  []string            `json:"resources"`
		Images     []map[string]string `json:"images"`
	}
	require.NoError(t, yaml.UnmarshalStrict(raw, &kust), "kustomization.yaml")
	require.Equal(t, "kustomize.config.k8s.io/v1beta1", kust.APIVersion)
	require.Equal(t, "Kustomization", kust.Kind)

	// Every manifest beside it is listed, and only the Helm values are not.
	files, err := filepath.Glob(filepath.Join(manifestDir, "*.yaml"))
	require.NoError(t, err)
	var want []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && b != "temporal-values.yaml" {
			want = append(want, b)
		}
	}
	require.ElementsMatch(t, want, kust.Resources, "kustomization.yaml resources")

	var objs []any
	for _, name := range kust.Resources {
		raw, err := os.ReadFile(filepath.Join(manifestDir, name))
		require.NoError(t, err)
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
			if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")) == "" {
				continue
			}
			var tm metav1.TypeMeta
			require.NoError(t, yaml.Unmarshal([]byte(doc), &tm), "%s document %d", name, i+1)
			mk, ok := kinds[tm.APIVersion+"/"+tm.Kind]
			require.True(t, ok, "%s document %d: unexpected %s/%s", name, i+1, tm.APIVersion, tm.Kind)
			obj := mk()
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), obj), "%s document %d", name, i+1)
			objs = append(objs, obj)
		}
	}
	return objs
}

func find[T any](objs []any, name string) *T {
	for _, o := range objs {
		if v, ok := o.(*T); ok && any(v).(metav1.Object).GetName() == name {
			return v
		}
	}
	return nil
}

// checkPod holds every pod to the restricted profile and resource requests, and every
// jobmanager container to the ConfigMap and Secret for its settings.
func checkPod(t *testing.T, what string, spec corev1.PodSpec) {
	t.Helper()
	require.NotNil(t, spec.SecurityContext, what)
	require.NotNil(t, spec.SecurityContext.RunAsNonRoot, what)
	require.True(t, *spec.SecurityContext.RunAsNonRoot, "%s: runAsNonRoot", what)
	require.NotNil(t, spec.AutomountServiceAccountToken, what)
	require.False(t, *spec.AutomountServiceAccountToken, "%s needs no Kubernetes API token", what)
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		require.NotNil(t, sc, "%s/%s", what, c.Name)
		require.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "%s/%s: readOnlyRootFilesystem", what, c.Name)
		require.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "%s/%s: allowPrivilegeEscalation", what, c.Name)
		require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop, "%s/%s", what, c.Name)
		require.False(t, c.Resources.Requests.Cpu().IsZero(), "%s/%s: cpu request", what, c.Name)
		require.False(t, c.Resources.Requests.Memory().IsZero(), "%s/%s: memory request", what, c.Name)
		require.False(t, c.Resources.Limits.Memory().IsZero(), "%s/%s: memory limit", what, c.Name)
		for _, m := range c.VolumeMounts {
			require.True(t, slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }),
				"%s/%s mounts unknown volume %s", what, c.Name, m.Name)
		}
		if !strings.HasPrefix(c.Image, "jobmanager-") {
			continue
		}
		var fromConfig, fromSecret bool
		for _, e := range c.EnvFrom {
			fromConfig = fromConfig || (e.ConfigMapRef != nil && e.ConfigMapRef.Name == "jobmanager-config")
			fromSecret = fromSecret || (e.SecretRef != nil && e.SecretRef.Name == "jobmanager-secrets")
		}
		require.True(t, fromConfig && fromSecret, "%s/%s: settings from the ConfigMap and the Secret", what, c.Name)
	}
}

// checkHTTPProbe: path on a port the container declares.
func checkHTTPProbe(t *testing.T, what string, c corev1.Container, p *corev1.Probe, path string) {
	t.Helper()
	require.NotNil(t, p, "%s: %s probe", what, path)
	require.NotNil(t, p.HTTPGet, "%s: %s probe is an HTTP GET", what, path)
	require.Equal(t, path, p.HTTPGet.Path, what)
	require.True(t, slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.HTTPGet.Port.StrVal }),
		"%s: probe port %q is not a declared port", what, p.HTTPGet.Port.String())
}

func TestKubernetesManifests(t *testing.T) {
	objs := manifests(t)

	for _, name := range []string{"jobmanager-api", "jobmanager-worker"} {
		d := find[appsv1.Deployment](objs, name)
		require.NotNil(t, d, name)
		require.GreaterOrEqual(t, *d.Spec.Replicas, int32(2), "%s runs replicated", name)
		require.Equal(t, d.Spec.Selector.MatchLabels["app.kubernetes.io/name"], d.Spec.Template.Labels["app.kubernetes.io/name"], name)
		checkPod(t, name, d.Spec.Template.Spec)
		c := d.Spec.Template.Spec.Containers[0]
		checkHTTPProbe(t, name, c, c.ReadinessProbe, "/readyz")
		checkHTTPProbe(t, name, c, c.LivenessProbe, "/healthz")
		pdb := find[policyv1.PodDisruptionBudget](objs, name)
		require.NotNil(t, pdb, "%s has a PodDisruptionBudget", name)
		require.Equal(t, d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels, name)
	}
	require.Equal(t, []string{"api"}, find[appsv1.Deployment](objs, "jobmanager-api").Spec.Template.Spec.Containers[0].Args)
	require.Equal(t, []string{"worker"}, find[appsv1.Deployment](objs, "jobmanager-worker").Spec.Template.Spec.Containers[0].Args)

	mailbox := find[appsv1.Deployment](objs, "jobmanager-mailbox")
	require.NotNil(t, mailbox)
	checkPod(t, "mailbox", mailbox.Spec.Template.Spec)
	require.NotNil(t, mailbox.Spec.Template.Spec.Containers[0].ReadinessProbe.TCPSocket, "SMTP: a TCP probe")

	// Services select their Deployment's pods and target a declared port.
	for _, name := range []string{"jobmanager-api", "jobmanager-mailbox"} {
		svc, d := find[corev1.Service](objs, name), find[appsv1.Deployment](objs, name)
		require.NotNil(t, svc, name)
		for k, v := range svc.Spec.Selector {
			require.Equal(t, v, d.Spec.Template.Labels[k], "%s selector %s", name, k)
		}
		for _, p := range svc.Spec.Ports {
			require.True(t, slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports,
				func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.StrVal }), "%s targets %s", name, p.TargetPort.String())
		}
	}

	migrate := find[batchv1.Job](objs, "jobmanager-migrate")
	require.NotNil(t, migrate, "the migration Job")
	require.Equal(t, []string{"migrate"}, migrate.Spec.Template.Spec.Containers[0].Args)
	require.Equal(t, corev1.RestartPolicyNever, migrate.Spec.Template.Spec.RestartPolicy)
	checkPod(t, "migrate", migrate.Spec.Template.Spec)

	setup := find[batchv1.Job](objs, "temporal-setup")
	require.NotNil(t, setup, "the Job registering search attributes")
	checkPod(t, "temporal-setup", setup.Spec.Template.Spec)
	script := strings.Join(setup.Spec.Template.Spec.Containers[0].Args, "\n")
	for _, name := range job.SearchAttributes {
		require.Regexp(t, regexp.MustCompile(`\b`+name+`\b`), script, "temporal-setup registers %s", name)
	}

	// Production settings: production mode, TLS-only cookies and links; the secrets live
	// in the Secret, never in the ConfigMap.
	cm := find[corev1.ConfigMap](objs, "jobmanager-config")
	require.NotNil(t, cm)
	require.Equal(t, "production", cm.Data["JOBMANAGER_ENV"])
	require.Equal(t, "1", cm.Data["SECURE_COOKIES"])
	require.True(t, strings.HasPrefix(cm.Data["PUBLIC_URL"], "https://"))
	require.NotEmpty(t, cm.Data["TEMPORAL_UI_ORIGIN"])
	sec := find[corev1.Secret](objs, "jobmanager-secrets")
	require.NotNil(t, sec)
	for _, k := range []string{"DATABASE_URL", "SECRETS_KEY", "CSRF_KEY", "PAYLOAD_KEYS", "SMTP_PASSWORD", "BEZAHL_TOKEN", "BEZAHL_WEBHOOK_SECRET", "TEMPORAL_API_KEY"} {
		require.Contains(t, sec.StringData, k, "the Secret holds %s", k)
		require.NotContains(t, cm.Data, k, "%s is a secret, not ConfigMap data", k)
	}
	ns := find[corev1.Namespace](objs, "jobmanager")
	require.NotNil(t, ns)
	require.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"])
}

// TestTemporalHelmValues reads the values for Temporal's chart: PostgreSQL for both
// stores, the server version of the tests, Temporal UI pointed at the codec endpoint.
func TestTemporalHelmValues(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(manifestDir, "temporal-values.yaml"))
	require.NoError(t, err)
	var v struct {
		Server struct {
			Image  struct{ Tag string } `json:"image"`
			Config struct {
				Persistence map[string]any `json:"persistence"`
				Namespaces  struct {
					Create    bool `json:"create"`
					Namespace []struct{ Name string }
				} `json:"namespaces"`
			} `json:"config"`
		} `json:"server"`
		Web struct {
			AdditionalEnv []corev1.EnvVar `json:"additionalEnv"`
		} `json:"web"`
		Elasticsearch struct{ Enabled bool } `json:"elasticsearch"`
		Cassandra     struct{ Enabled bool } `json:"cassandra"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &v))
	require.Regexp(t, `^1\.29\.\d+$`, v.Server.Image.Tag)
	for _, store := range []string{"default", "visibility"} {
		s, ok := v.Server.Config.Persistence[store].(map[string]any)
		require.True(t, ok, "persistence.%s", store)
		require.Equal(t, "sql", s["driver"], store)
		require.Equal(t, "postgres12", s["sql"].(map[string]any)["driver"], store)
	}
	require.True(t, v.Server.Config.Namespaces.Create)
	require.False(t, v.Elasticsearch.Enabled, "SQL visibility, no Elasticsearch")
	require.False(t, v.Cassandra.Enabled)
	var codec string
	for _, e := range v.Web.AdditionalEnv {
		if e.Name == "TEMPORAL_CODEC_ENDPOINT" {
			codec = e.Value
		}
	}
	require.Regexp(t, `^https://.+/api/v1/codec$`, codec, "Temporal UI decodes through the API's codec endpoint")
}
