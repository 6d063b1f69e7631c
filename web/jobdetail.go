package web

import "github.com/gin-gonic/gin"

// jobRoutes are a job's pages for staff under /staff/:dealer/jobs/:number.
func (s *site) jobRoutes(g *gin.RouterGroup) {}
