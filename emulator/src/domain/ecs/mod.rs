//! ECS resource model.

#[derive(Debug, Default)]
pub struct EcsState {}
