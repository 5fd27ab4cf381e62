/**
 * The model types `@geolip/nn` itself defines that a weights file can name (`geolip.type`): the consensus student MLP.
 * Model packages keep their own registries; `ModelRegistry.merge` joins them.
 */
import { MLP_STUDENT_TYPE, MlpStudent, parseMlpStudentConfig } from './layers/mlp-student.js';
import type { MlpStudentConfig } from './layers/mlp-student.js';
import { ModelRegistry } from './registry.js';

/** The models of `@geolip/nn`, by `geolip.type` (`nn/mlp-student`). */
export const nnModels: ModelRegistry = new ModelRegistry('nn').register<MlpStudentConfig, MlpStudent>({
  type: MLP_STUDENT_TYPE,
  name: 'MlpStudent',
  description: "MlpStudent: one expert's features to the consensus space (geolip-train run mlp-student)",
  parseConfig: parseMlpStudentConfig,
  create: (config) => new MlpStudent(config),
});
