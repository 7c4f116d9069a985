#!/usr/bin/env node
import "../dist/conveyor.js";
