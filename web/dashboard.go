package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
)

// dashboardRoutes are the logged-in staff pages: the job list and a job's detail.
func (s *site) dashboardRoutes(g *gin.RouterGroup) {
	g.GET("/jobs", s.jobsPage)
}

func (s *site) jobsPage(c *gin.Context) {
	var list api.JobList
	if err := s.get(c, apiPath(c.Param("dealer"), "jobs"), c.Request.URL.Query(), &list); err != nil {
		s.fail(c, err)
		return
	}
	p := s.staffPage(c, "staff", "")
	p.Title = p.T("jobs.title")
	p.Data = list
	s.render(c, http.StatusOK, "staff/jobs", "", p)
}
