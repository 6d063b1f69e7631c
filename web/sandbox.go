package web

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/job"
)

// sandboxRoutes are the admin's test jobs on a draft under /staff/:dealer/admin/sandbox:
// choose a workflow as the catalog has it now (published or not) and a vehicle, start a
// test job, and open it as staff and, in a second tab, as its customer. The API does
// the work (POST .../admin/workflows/:key/sandbox) and refuses staff that are neither
// owner nor admin.
func (s *site) sandboxRoutes(g *gin.RouterGroup) {
	g.GET("", s.sandboxPage)
	g.POST("", s.sandboxStart)
}

// sandboxData is the sandbox page's data.
type sandboxData struct {
	Workflows []api.AdminWorkflow
	Vehicles  []api.Vehicle
	// Workflow and Vehicle are the form's choice.
	Workflow string
	Vehicle  string
	// Started is the test job just started, with its customer link.
	Started *api.SandboxJob
	// Jobs are the dealer's test jobs, newest change first.
	Jobs []job.Row
}

func (s *site) sandboxPage(c *gin.Context) {
	s.adminShow(c, "sandbox/index", "sandbox.title", func(*Page) (any, error) { return s.sandboxData(c) })
}

// sandboxData reads what the page offers: the workflows, the vehicles and the test jobs.
func (s *site) sandboxData(c *gin.Context) (*sandboxData, error) {
	dealer := c.Param("dealer")
	d := &sandboxData{}
	var wl api.WorkflowList
	if err := s.get(c, adminAPI(dealer, "workflows"), nil, &wl); err != nil {
		return nil, err
	}
	d.Workflows = wl.Workflows
	var vl api.VehicleList
	if err := s.get(c, apiPath(dealer, "vehicles"), nil, &vl); err != nil {
		return nil, err
	}
	d.Vehicles = vl.Vehicles
	var jl api.JobList
	if err := s.get(c, apiPath(dealer, "jobs"), url.Values{"test": {"only"}}, &jl); err != nil {
		return nil, err
	}
	d.Jobs = jl.Jobs
	// The choice starts at the first own workflow: drafts are what one tries out.
	for _, w := range d.Workflows {
		if !w.System {
			d.Workflow = w.Key
			break
		}
	}
	return d, nil
}

func (s *site) sandboxStart(c *gin.Context) {
	dealer := c.Param("dealer")
	workflow, vehicle := c.PostForm("workflow"), c.PostForm("vehicle_id")
	var started api.SandboxJob
	err := s.send(c, http.MethodPost, adminAPI(dealer, "workflows", workflow, "sandbox"), api.SandboxBody{VehicleID: vehicle}, &started)
	form := func() (*sandboxData, error) {
		d, err := s.sandboxData(c)
		if err == nil {
			d.Workflow, d.Vehicle = workflow, vehicle
		}
		return d, err
	}
	if err != nil {
		// The page shows the refusal itself (p.Problem), beside the vehicle or listed.
		s.adminRefused(c, err, "sandbox/index", "sandbox.title", func(*problems) (any, error) { return form() })
		return
	}
	s.adminShow(c, "sandbox/index", "sandbox.title", func(p *Page) (any, error) {
		d, err := form()
		if err != nil {
			return nil, err
		}
		d.Started = &started
		// A job just started may not be listed yet (the list shows jobs once their
		// workflow has run); its row is there from the start.
		if !slices.ContainsFunc(d.Jobs, func(r job.Row) bool { return r.Number == started.Number }) {
			var detail api.JobDetail
			if err := s.get(c, apiPath(dealer, "jobs", started.Number), nil, &detail); err == nil {
				d.Jobs = append([]job.Row{detail.Job}, d.Jobs...)
			}
		}
		p.Notice = p.T("sandbox.started", "number", started.Number)
		return d, nil
	})
}
