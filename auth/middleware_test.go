package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/auth"
	"github.com/jobmanager/jobmanager/job"
)

func init() { gin.SetMode(gin.TestMode) }

// guarded serves GET /dealers/:dealer/x with the guard, as p, and reports the status
// and the code of the refusal (empty when let through).
func guarded(t *testing.T, guard gin.HandlerFunc, p auth.Principal, dealer string) (int, string) {
	t.Helper()
	var code string
	r := gin.New()
	deny := func(c *gin.Context, err *auth.Error) {
		code = err.Code
		c.String(err.Status, err.Detail)
	}
	// Without cookies or a bearer token the middleware needs no store; the principal
	// under test replaces the anonymous one it finds.
	r.GET("/dealers/:dealer/x", auth.Middleware(nil, auth.Options{Deny: deny}), func(c *gin.Context) { auth.Set(c, p) },
		guard, func(c *gin.Context) { c.Status(http.StatusOK) })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/dealers/"+dealer+"/x", nil))
	return w.Code, code
}

func TestGuards(t *testing.T) {
	var (
		nobody   = auth.Principal{Kind: auth.Anonymous}
		owner    = auth.Principal{Kind: auth.Staff, Dealer: "a", StaffID: "s1", Role: auth.RoleOwner}
		admin    = auth.Principal{Kind: auth.Staff, Dealer: "a", StaffID: "s2", Role: auth.RoleAdmin}
		sales    = auth.Principal{Kind: auth.Staff, Dealer: "a", StaffID: "s3", Role: auth.RoleSales}
		otherA   = auth.Principal{Kind: auth.Staff, Dealer: "b", StaffID: "s4", Role: auth.RoleOwner}
		customer = auth.Principal{Kind: auth.Customer, Dealer: "a", CustomerID: "c1", LoggedIn: true}
		linked   = auth.Principal{Kind: auth.Customer, Dealer: "a", SessionID: "x", JobNumber: 7}
		otherC   = auth.Principal{Kind: auth.Customer, Dealer: "b", CustomerID: "c2", LoggedIn: true}
		token    = auth.Principal{Kind: auth.Integration, Dealer: "a", TokenID: "t1"}
		otherT   = auth.Principal{Kind: auth.Integration, Dealer: "b", TokenID: "t2"}
	)
	admins := auth.RequireStaff(auth.RoleOwner, auth.RoleAdmin)
	for _, tc := range []struct {
		name   string
		guard  gin.HandlerFunc
		p      auth.Principal
		status int
		code   string
	}{
		{"admins/nobody", admins, nobody, 401, "staff_login_required"},
		{"admins/owner", admins, owner, 200, ""},
		{"admins/admin", admins, admin, 200, ""},
		{"admins/sales", admins, sales, 403, "role_required"},
		{"admins/other dealer", admins, otherA, 404, "no_route"},
		{"admins/customer", admins, customer, 403, "staff_only"},
		{"admins/integration", admins, token, 403, "staff_only"},
		{"staff/sales", auth.RequireStaff(), sales, 200, ""},
		{"staff/linked customer", auth.RequireStaff(), linked, 403, "staff_only"},
		{"jobs/integration", auth.RequireStaffOrIntegration(), token, 200, ""},
		{"jobs/sales", auth.RequireStaffOrIntegration(), sales, 200, ""},
		{"jobs/other integration", auth.RequireStaffOrIntegration(), otherT, 404, "no_route"},
		{"jobs/customer", auth.RequireStaffOrIntegration(), customer, 403, "staff_only"},
		{"customer/customer", auth.RequireCustomer(), customer, 200, ""},
		{"customer/linked", auth.RequireCustomer(), linked, 200, ""},
		{"customer/other dealer", auth.RequireCustomer(), otherC, 404, "no_route"},
		{"customer/staff", auth.RequireCustomer(), owner, 403, "customer_only"},
		{"customer/nobody", auth.RequireCustomer(), nobody, 401, "customer_session_required"},
		{"integration/token", auth.RequireIntegration(), token, 200, ""},
		{"integration/staff", auth.RequireIntegration(), owner, 403, "integration_only"},
		{"integration/nobody", auth.RequireIntegration(), nobody, 401, "api_token_required"},
	} {
		status, code := guarded(t, tc.guard, tc.p, "a")
		require.Equal(t, tc.status, status, tc.name)
		require.Equal(t, tc.code, code, tc.name)
	}
}

// Without a Deny callback (no Middleware before it), a guard still refuses.
func TestGuardWithoutDeny(t *testing.T) {
	r := gin.New()
	r.GET("/dealers/:dealer/x", auth.RequireStaff(), func(c *gin.Context) { c.Status(http.StatusOK) })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/dealers/a/x", nil))
	require.Equal(t, http.StatusUnauthorized, w.Code)
}

func TestActor(t *testing.T) {
	require.Equal(t, job.Actor{Side: job.Staff, ID: "s1"}, auth.Principal{Kind: auth.Staff, StaffID: "s1"}.Actor())
	require.Equal(t, job.Actor{Side: job.Staff, ID: "token:t1"}, auth.Principal{Kind: auth.Integration, TokenID: "t1"}.Actor())
	require.Equal(t, job.Actor{Side: job.Customer, ID: "c1"}, auth.Principal{Kind: auth.Customer, CustomerID: "c1"}.Actor())
	require.Equal(t, job.Actor{Side: job.Customer, ID: "session:x"}, auth.Principal{Kind: auth.Customer, SessionID: "x"}.Actor())
}
