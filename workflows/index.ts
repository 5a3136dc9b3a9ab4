/** Entry point of the workflow bundle: every workflow type the control worker runs. */
export { leaseWorkflow } from './lease.workflow';
