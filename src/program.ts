// The Pulumi program (Pulumi.yaml `main`); its exports are the stack outputs.
import { stackProgram } from "./stack-program";

export = stackProgram();
