package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPISpec is api/openapi.yaml, the contract of every route; the tests validate each
// request they send and each answer they get against it.
//
//go:embed openapi.yaml
var openAPISpec []byte

// ContentTypeYAML is the media type the specification is served as.
const ContentTypeYAML = "application/yaml"

func serveOpenAPI(c *gin.Context) {
	c.Data(http.StatusOK, ContentTypeYAML, openAPISpec)
}
