import { DecisionsModel } from './decisions-model.js';
import { DirectoryModel } from './directory-model.js';
import { GrantsModel } from './grants-model.js';
import { PolicySetsModel } from './policy-sets-model.js';
import type { ReadModel } from './read-model.js';
import { SessionsModel } from './sessions-model.js';

/** Every read model of writ, by role, plus the list the projection runner folds into. */
export interface ReadModels {
  directory: DirectoryModel;
  grants: GrantsModel;
  policySets: PolicySetsModel;
  sessions: SessionsModel;
  decisions: DecisionsModel;
  all: ReadModel[];
}

/** Fresh, empty read models: the app wires this one object; the runner fills it. */
export function createReadModels(): ReadModels {
  const directory = new DirectoryModel();
  const grants = new GrantsModel();
  const policySets = new PolicySetsModel();
  const sessions = new SessionsModel();
  const decisions = new DecisionsModel();
  return { directory, grants, policySets, sessions, decisions, all: [directory, grants, policySets, sessions, decisions] };
}
