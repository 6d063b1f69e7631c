package web

import "github.com/gin-gonic/gin"

// adminRoutes are the admin editor's pages under /staff/:dealer/admin.
func (s *site) adminRoutes(g *gin.RouterGroup) {}
