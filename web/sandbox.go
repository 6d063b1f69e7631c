package web

import "github.com/gin-gonic/gin"

// sandboxRoutes are the admin's test jobs on a draft under /staff/:dealer/admin/sandbox.
func (s *site) sandboxRoutes(g *gin.RouterGroup) {}
