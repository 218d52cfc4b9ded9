/** Statement analysis: splitting, classification, tables and columns read and written. */
package dev.warden.sql;
