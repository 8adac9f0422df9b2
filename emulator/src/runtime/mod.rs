//! Docker through bollard, and the task metadata endpoint.
