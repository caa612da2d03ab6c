"""One module per page (its routes and handlers); templates under console/templates."""
