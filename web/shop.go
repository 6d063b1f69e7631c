package web

import "github.com/gin-gonic/gin"

// customerRoutes are the customer's pages under /shop/:dealer.
func (s *site) customerRoutes(g *gin.RouterGroup) {}
