"""Amazon ECS: the state model, its operations, and one thin handler per API operation."""
