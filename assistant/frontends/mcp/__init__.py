"""kb as a Model Context Protocol server: `kb mcp` over stdio, `/mcp` on the page's server."""
